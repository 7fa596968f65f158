"use client";

import { memo } from "react";
import Markdown, { type Components, type ExtraProps } from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import remarkGfm from "remark-gfm";
import { CodeBlock } from "@/components/chat/code-block";
import "@/components/chat/markdown.css";

// Model answers are untrusted text. Three rules keep them from running script in the page:
// - Raw HTML is never parsed: without rehype-raw, react-markdown turns it into plain text.
// - A link keeps its URL only for http:, https: and mailto:, or an in-page #fragment (GFM
//   footnotes). Any other URL, `javascript:` included, is dropped and the text is shown unlinked.
// - Images are never loaded. An image URL can carry conversation text to another server the
//   moment it loads, so an https image is shown as a link the user may choose to open.
const LINK_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);

/** Returns `url` normalised when a link may point to it, else "" (react-markdown's `urlTransform`). */
export function safeLinkUrl(url: string): string {
  if (/^#[\w-]*$/.test(url)) return url;
  try {
    const parsed = new URL(url);
    return LINK_PROTOCOLS.has(parsed.protocol) ? parsed.href : "";
  } catch {
    // Relative URLs would point into this app, and an answer has no reason to link there.
    return "";
  }
}

const linkClass = "font-medium text-indigo-700 underline underline-offset-2 hover:text-indigo-500 dark:text-indigo-300";

/**
 * Returns an element's props for the DOM: react-markdown's `node` prop removed (it is not an
 * attribute) and `className` added in front of any class the Markdown gave the element.
 */
function domProps<Props extends ExtraProps & { className?: string }>(props: Props, className: string): Omit<Props, "node"> {
  const rest = { ...props, className: props.className ? `${className} ${props.className}` : className };
  delete rest.node;
  return rest;
}

const components: Components = {
  a: (props) => {
    const { href, children } = props;
    if (!href) return <span>{children}</span>;
    // In-page links (GFM footnotes) keep their ids, and every other link opens in a new tab.
    const external = !href.startsWith("#");
    return <a {...domProps(props, linkClass)} {...(external ? { target: "_blank", rel: "noopener noreferrer nofollow" } : {})} />;
  },
  img: ({ src, alt }) => {
    const label = alt ? `Image: ${alt}` : "Image";
    if (typeof src !== "string" || !src.startsWith("https:")) return <span className="italic">[{label}]</span>;
    return (
      <a href={src} target="_blank" rel="noopener noreferrer nofollow" className={linkClass}>
        {label}
      </a>
    );
  },
  pre: ({ node, children }) => <CodeBlock node={node}>{children}</CodeBlock>,
  p: (props) => <p {...domProps(props, "my-3 first:mt-0 last:mb-0")} />,
  h1: (props) => <h1 {...domProps(props, "mt-5 mb-3 text-xl font-semibold first:mt-0")} />,
  h2: (props) => <h2 {...domProps(props, "mt-5 mb-2 text-lg font-semibold first:mt-0")} />,
  h3: (props) => <h3 {...domProps(props, "mt-4 mb-2 font-semibold first:mt-0")} />,
  h4: (props) => <h4 {...domProps(props, "mt-4 mb-2 font-semibold first:mt-0")} />,
  ul: (props) => <ul {...domProps(props, "my-3 list-disc space-y-1 pl-6")} />,
  ol: (props) => <ol {...domProps(props, "my-3 list-decimal space-y-1 pl-6")} />,
  blockquote: (props) => (
    <blockquote {...domProps(props, "my-3 border-l-4 border-zinc-300 pl-3 text-zinc-600 dark:border-zinc-700 dark:text-zinc-400")} />
  ),
  hr: () => <hr className="my-4 border-zinc-200 dark:border-zinc-800" />,
  table: (props) => (
    <div className="my-3 overflow-x-auto">
      <table {...domProps(props, "min-w-full border-collapse text-sm")} />
    </div>
  ),
  th: (props) => (
    <th {...domProps(props, "border border-zinc-300 bg-zinc-100 px-2 py-1 text-left font-semibold dark:border-zinc-700 dark:bg-zinc-800")} />
  ),
  td: (props) => <td {...domProps(props, "border border-zinc-300 px-2 py-1 dark:border-zinc-700")} />,
};

const remarkPlugins = [remarkGfm];
const rehypePlugins = [rehypeHighlight];

/** Renders a model's answer as Markdown: GFM, highlighted code blocks, no raw HTML, no images. */
export const MarkdownAnswer = memo(function MarkdownAnswer({ text }: { text: string }) {
  return (
    <div className="chat-markdown leading-relaxed break-words">
      <Markdown remarkPlugins={remarkPlugins} rehypePlugins={rehypePlugins} urlTransform={safeLinkUrl} components={components}>
        {text}
      </Markdown>
    </div>
  );
});

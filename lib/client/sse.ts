function dataFieldValue(line: string): string {
  // The format strips one optional space after the colon.
  return line.startsWith("data: ") ? line.slice(6) : line.slice(5);
}

/**
 * Yields the data of each Server-Sent Event in a response body, as the event stream format
 * defines it: an event ends at a blank line, and its `data:` lines are joined with "\n".
 * Comment lines and other fields (`event:`, `id:`, `retry:`) are skipped. Stopping the
 * iteration early cancels the body.
 */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let dataLines: string[] = [];
  let finished = false;

  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      // `stream: true` keeps a multi-byte character that is split across chunks for the next one.
      buffer += decoder.decode(value, { stream: true });

      // A "\r" at the end of the buffer may be the first half of "\r\n", so it waits for the next chunk.
      const lines = buffer.split(/\r\n|\n|\r(?=[\s\S])/);
      buffer = lines.pop() ?? "";

      for (const line of lines) {
        if (line === "") {
          if (dataLines.length > 0) yield dataLines.join("\n");
          dataLines = [];
        } else if (line.startsWith("data:")) {
          dataLines.push(dataFieldValue(line));
        }
      }
    }
    finished = true;
    buffer += decoder.decode();

    // A stream that ends without the final blank line still delivers its last event.
    const lastLine = buffer.replace(/\r$/, "");
    if (lastLine.startsWith("data:")) dataLines.push(dataFieldValue(lastLine));
    if (dataLines.length > 0) yield dataLines.join("\n");
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

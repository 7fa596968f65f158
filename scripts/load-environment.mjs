// Imported first by command-line scripts, so they read the same configuration as the app.
import { loadEnvironment } from "./environment.mjs";

loadEnvironment();

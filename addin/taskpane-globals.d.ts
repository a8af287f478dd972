// What the task pane (sheetdl/data/addin/taskpane/taskpane.js) reads from or puts on the page's window,
// for the type check (addin/tsconfig.json); Office.js itself is typed by @types/office-js.
interface Window {
  /** smaller chunks, set by the tests (tests/server/test_taskpane.py) to exercise them */
  __SHEETDL_TUNING__?: { readRows?: number; uploadRows?: number; cellsPerSync?: number };
  /** the pane's entry points, for the tests and the browser's console */
  SheetDLPane?: Record<string, unknown>;
}

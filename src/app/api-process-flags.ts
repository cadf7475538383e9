/**
 * V8's flags for the API process, wherever it runs (`npm start`, the image's CMD, the bench, which runs the API in its
 * own process): a young generation of 64 MB semi-spaces instead of 16, as every projection process has
 * (PROJECTION_PROCESS_V8_FLAGS). A case view's first read renders and keeps its answer, and those answers, with the
 * requests in flight, survive the scavenges that find them: in the bench's full views run (14 s) the default size took
 * 223–237 scavenges (351–375 ms), 64 MB took 59–62 (170–188 ms). Reads/s 9,812 and 11,166 against 8,462–9,756 in five
 * runs at the default; the p99 (4.22 and 4.93 ms against 4.45–5.86) is within the runs' noise.
 * It costs up to about 150 MB more of the process's memory under load.
 */
export const API_PROCESS_V8_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/**
 * `next-downloadview/testing`: call route handlers the way Next does and assert on what they answer,
 * in any test runner (the assertions throw node:assert's AssertionError). Node only.
 */
export { callRoute, paramsFromUrl, type CallRouteOptions, type RouteHandler } from './call-route.js';
export { assertDownload, assertOffload, type ExpectedAccel, type ExpectedDownload, type ExpectedOffload } from './assertions.js';
export { parseContentDisposition, type ParsedDisposition } from './disposition.js';

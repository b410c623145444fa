package api

// StatusOf is statusOf, for the external test that holds the code, the
// document and the README to one list of problem codes.
var StatusOf = statusOf

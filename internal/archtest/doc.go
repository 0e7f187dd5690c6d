// Package archtest holds the project's architecture tests: every package has
// a package doc, and imports follow the one-way layering of DESIGN.md. It has
// no non-test code and nothing imports it.
package archtest

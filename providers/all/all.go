// Package all registers every built-in provider; the CLI imports it.
package all

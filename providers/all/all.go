// Package all registers every built-in provider; the CLI imports it.
package all

import (
	_ "github.com/skyplan/skyplan/providers/aws"
	_ "github.com/skyplan/skyplan/providers/gcp"
	_ "github.com/skyplan/skyplan/providers/kubernetes"
)

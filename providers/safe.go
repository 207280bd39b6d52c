package providers

import "fmt"

// Safely wraps a function a provider runs on its own goroutine (errgroup.Go)
// so that a panic in it becomes an error: a panic on a goroutine nobody
// recovers crashes the process with Go's exit code 2, which plan
// --detailed-exitcode uses for "changes present".
func Safely(fn func() error) func() error {
	return func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("internal error: %v; please report it", r)
			}
		}()
		return fn()
	}
}

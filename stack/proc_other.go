//go:build !linux

package stack

import "syscall"

// dieWithParent does nothing where there is no parent-death signal; Stop still ends
// the dev server on every orderly exit.
func dieWithParent(*syscall.SysProcAttr) {}

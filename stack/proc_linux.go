package stack

import "syscall"

// dieWithParent makes a child process get SIGKILL when the process that started it dies,
// however it dies: a dev server in its own process group would otherwise outlive a
// killed appforge (or test binary), holding its port and database.
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

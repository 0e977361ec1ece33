package build

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// heartbeatEvery is how often a running child process or an awaited install is reported:
// half the promised bound, so that a late tick still keeps it.
const heartbeatEvery = time.Second

// waitDelay bounds how long Wait waits for output pipes after the process exited: a
// grandchild that left the process group could otherwise hold them open forever.
const waitDelay = 5 * time.Second

// logLimit bounds the output kept of one child process: its first logHead bytes (the first
// errors are often the cause of the rest) and its last logLimit-logHead bytes.
const (
	logLimit = 64 << 10
	logHead  = 16 << 10
)

// limit is a time limit: a deadline and the duration it was set from, for messages.
type limit struct {
	deadline time.Time
	d        time.Duration
}

// command is one child process.
type command struct {
	stage     string
	name      string
	args      []string
	dir       string
	env       []string // the whole environment; nothing is inherited
	limit     limit
	heartbeat func(stage string) // may be nil
}

var stageCommands = map[string]string{
	StageInstall:   "npm install",
	StageTypeCheck: "tsc",
	StageBuild:     "vite build",
}

// run runs c in its own process group with stdout and stderr captured together, and
// returns the bounded output. When ctx is done or the limit passes, the whole group gets
// SIGTERM, then SIGKILL after KillGrace; the error then wraps ctx's cause or ErrTimeout.
// A process that ran and failed gives an error wrapping *exec.ExitError.
func (b *Builder) run(ctx context.Context, c command) (string, error) {
	what := stageCommands[c.stage]
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s cancelled: %w", what, context.Cause(ctx))
	}
	out := &logBuffer{}
	cmd := exec.Command(c.name, c.args...)
	cmd.Dir = c.dir
	cmd.Env = c.env
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", what, err)
	}
	pgid := cmd.Process.Pid // Setpgid: the group is named after its leader
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	timer := time.NewTimer(time.Until(c.limit.deadline))
	defer timer.Stop()
	tick := time.NewTicker(heartbeatEvery)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			// Whatever the leader left behind in its group goes with it.
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
				return out.String(), fmt.Errorf("%s: %w", what, err)
			}
			return out.String(), nil
		case <-tick.C:
			if c.heartbeat != nil {
				c.heartbeat(c.stage)
			}
		case <-ctx.Done():
			b.stop(pgid, done)
			return out.String(), fmt.Errorf("%s cancelled: %w", what, context.Cause(ctx))
		case <-timer.C:
			b.stop(pgid, done)
			return out.String(), fmt.Errorf("%s %w after %s", what, ErrTimeout, c.limit.d)
		}
	}
}

// stop ends the process group pgid: SIGTERM, SIGKILL after the grace period (or at once
// once the leader is gone, for members that ignored SIGTERM), then waits for the leader.
func (b *Builder) stop(pgid int, done <-chan error) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	grace := time.NewTimer(b.cfg.KillGrace)
	defer grace.Stop()
	select {
	case <-done:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	case <-grace.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
}

// logBuffer keeps the head and the tail of what is written to it.
type logBuffer struct {
	mu      sync.Mutex
	head    []byte
	tail    []byte // a ring once full
	next    int    // where the ring writes next
	dropped int64
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	if room := logHead - len(l.head); room > 0 {
		k := min(room, len(p))
		l.head = append(l.head, p[:k]...)
		p = p[k:]
	}
	const tailMax = logLimit - logHead
	for len(p) > 0 {
		if len(l.tail) < tailMax {
			k := min(tailMax-len(l.tail), len(p))
			l.tail = append(l.tail, p[:k]...)
			p = p[k:]
			continue
		}
		k := copy(l.tail[l.next:], p)
		l.dropped += int64(k)
		l.next = (l.next + k) % tailMax
		p = p[k:]
	}
	return n, nil
}

// String returns the kept output, valid UTF-8, with a marker where bytes were dropped.
func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var sb strings.Builder
	sb.Write(l.head)
	if l.dropped > 0 {
		fmt.Fprintf(&sb, "\n[... %d bytes omitted ...]\n", l.dropped)
	}
	sb.Write(l.tail[l.next:])
	sb.Write(l.tail[:l.next])
	return strings.ToValidUTF8(sb.String(), "")
}

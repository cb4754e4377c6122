package proxy

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The event loops call read, write and splice raw, without telling the Go
// scheduler: every descriptor they use is non-blocking, so these calls
// return at once, and the scheduler's syscall bookkeeping (entersyscall,
// exitsyscall, sysmon waking every 20 µs to watch for long ones) cost more
// than the calls themselves (measured: nanosleep was 2 of 6.5 syscalls per
// command). Only epoll_wait, which does block, goes through the scheduler.
// Each returns the errno as unix.Errno (0 for none), which needs no
// allocation.

func sysRead(fd int, p []byte) (int, unix.Errno) {
	r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return int(r), e
}

func sysWrite(fd int, p []byte) (int, unix.Errno) {
	r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return int(r), e
}

func sysSplice(in, out, n int) (int, unix.Errno) {
	r, _, e := unix.RawSyscall6(unix.SYS_SPLICE, uintptr(in), 0, uintptr(out), 0, uintptr(n), unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
	return int(r), e
}

// sysQueued returns how many bytes wait in a socket's receive queue.
func sysQueued(fd int) (int, unix.Errno) {
	var v int32
	_, _, e := unix.RawSyscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCINQ, uintptr(unsafe.Pointer(&v)))
	return int(v), e
}

// pollNow returns the events already pending, without blocking and
// without the scheduler; waitEvents blocks and lets the scheduler run
// other goroutines on this thread's P meanwhile.
func pollNow(epfd int, events []unix.EpollEvent) (int, unix.Errno) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	return int(r), e
}

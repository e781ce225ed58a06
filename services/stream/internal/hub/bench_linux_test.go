package hub

import (
	"context"
	"net"
	"sync"
	"syscall"
	"testing"
)

// BenchmarkFanoutSockets measures one event fanned out to 2,000 subscribers
// over real loopback TCP connections, until every client socket holds it:
//
//   - pool: the writer pool (attached streams), one non-blocking write(2) per
//     connection from GOMAXPROCS writer goroutines;
//   - goroutines: the former model, a Serve goroutine per connection woken
//     for each event, writing through the runtime's poller.
//
// The client ends are watched by one edge-triggered epoll set, so ns/op is
// the time until the last client has the event; the clients are drained
// outside the timer. cpu-ns/op is the whole process's CPU, which includes
// the loopback receive the kernel runs on the writing core and the drains:
// compare the two models, not the absolute figure.
func BenchmarkFanoutSockets(b *testing.B) {
	const n = 2000
	for _, model := range []string{"pool", "goroutines"} {
		b.Run(model, func(b *testing.B) {
			h := New(Options{QueueSize: 64, RingSize: 1024})
			defer h.Close()
			ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
			if err != nil {
				b.Fatal(err)
			}
			defer syscall.Close(ep)
			fds := make([]int, n)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var wg sync.WaitGroup
			for i := range n {
				srv, cli := socketPair(b)
				rc, _ := cli.(*net.TCPConn).SyscallConn()
				_ = rc.Control(func(fd uintptr) { fds[i] = int(fd) })
				e := syscall.EpollEvent{Events: syscall.EPOLLIN | -syscall.EPOLLET&0xffffffff, Fd: int32(i)}
				if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fds[i], &e); err != nil {
					b.Fatal(err)
				}
				s, _ := h.Subscribe([]string{"room.1"})
				if model == "pool" {
					if err := s.Attach(Outlet{Conn: srv}); err != nil {
						b.Fatal(err)
					}
				} else {
					wg.Go(func() { _ = s.Serve(ctx, srv, nil, 0, 0) })
				}
			}
			events := make([]syscall.EpollEvent, 512)
			await := func() {
				for seen := 0; seen < n; {
					k, err := syscall.EpollWait(ep, events, -1)
					if err != nil && err != syscall.EINTR {
						b.Fatal(err)
					}
					seen += max(k, 0)
				}
			}
			buf := make([]byte, 64<<10)
			drain := func() {
				for _, fd := range fds {
					for {
						if k, err := syscall.Read(fd, buf); k <= 0 || err != nil {
							break
						}
					}
				}
			}
			ev := &Event{Seq: 1, Channel: "room.1", Frame: benchFrame}
			h.Publish(ev) // warm up: first writes, stacks
			await()
			drain()
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for i := range b.N {
				ev.Seq = uint64(i + 2)
				h.Publish(ev)
				await()
				b.StopTimer()
				drain()
				b.StartTimer()
			}
			b.StopTimer()
			reportCPU(b, cpu)
			cancel()
			wg.Wait()
		})
	}
}

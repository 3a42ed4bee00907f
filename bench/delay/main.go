// Command bench-delay is the benchmark's network delay: a TCP proxy that holds every chunk of
// data for a fixed time in each direction, so that a broker on the loopback answers as one a
// network away would. The broker advertises the proxy's address on a listener of its own
// (bench/sweep.py), so a client that bootstraps through it keeps talking through it.
//
// Run: bench-delay LISTEN TARGET ONE_WAY_DELAY (e.g. 127.0.0.1:9100 127.0.0.1:9092 500us)
package main

import (
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: bench-delay LISTEN TARGET ONE_WAY_DELAY")
		os.Exit(2)
	}
	delay, err := time.ParseDuration(os.Args[3])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-delay:", err)
		os.Exit(2)
	}
	listener, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-delay:", err)
		os.Exit(1)
	}
	fmt.Println("delay ready")
	for {
		client, err := listener.Accept()
		if err != nil {
			continue
		}
		go connect(client, os.Args[2], delay)
	}
}

func connect(client net.Conn, target string, delay time.Duration) {
	server, err := net.Dial("tcp", target)
	if err != nil {
		client.Close()
		return
	}
	go relay(client, server, delay)
	go relay(server, client, delay)
}

type chunk struct {
	due  time.Time
	data []byte
}

// relay copies src to dst, each chunk written `delay` after it was read. The reader never waits
// for the writer (up to the queue's length), so the delay is latency, not a bandwidth limit.
func relay(src, dst net.Conn, delay time.Duration) {
	queue := make(chan chunk, 4096)
	go func() {
		failed := false
		for c := range queue {
			if failed {
				continue // keep emptying the queue so the reader is never blocked
			}
			if wait := time.Until(c.due); wait > 0 {
				time.Sleep(wait)
			}
			if _, err := dst.Write(c.data); err != nil {
				failed = true
				src.Close()
			}
		}
		if tcp, ok := dst.(*net.TCPConn); ok {
			tcp.CloseWrite()
		}
	}()
	for {
		buf := make([]byte, 64<<10)
		n, err := src.Read(buf)
		if n > 0 {
			queue <- chunk{time.Now().Add(delay), buf[:n]}
		}
		if err != nil {
			close(queue)
			return
		}
	}
}

// The agent's multiplexer: connections accepted on 127.0.0.1:PORT become numbered streams of
// frames on one writer (the exec session's stdout); frames read from the session's stdin go to
// their connection. Each direction of each connection has its own window, so a slow reader on
// one side holds back only its own connection.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

type agent struct {
	out       chan []byte
	mu        sync.Mutex
	conns     map[uint32]*conn
	nextID    uint32
	listeners []net.Listener
	done      chan struct{}
	closeOnce sync.Once
	// No frame from the laptop for this long: it is gone (the exec session's stdin may stay open).
	idle time.Duration
}

type conn struct {
	a  *agent
	id uint32
	c  *net.TCPConn

	mu   sync.Mutex
	cond *sync.Cond
	// Bytes this side may still send to the laptop.
	credit int
	// Data from the laptop not yet written to the socket, and its END.
	queue    [][]byte
	peerEnd  bool
	readDone bool
	// Written and shut (after the laptop's END).
	writeDone bool
	gone      bool
}

func newAgent(idle time.Duration) *agent {
	return &agent{out: make(chan []byte, 1024), conns: map[uint32]*conn{}, done: make(chan struct{}), idle: idle}
}

func (a *agent) send(f frame) {
	select {
	case a.out <- encodeFrame(f):
	case <-a.done:
	}
}

// listen opens every port on the pod's loopback, or says which one it cannot.
func (a *agent) listen(ports []int) error {
	for _, port := range ports {
		l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			for _, open := range a.listeners {
				open.Close()
			}
			return err
		}
		a.listeners = append(a.listeners, l)
	}
	return nil
}

// serve runs until stdin ends (the exec session is gone), a broken frame, or the idle timeout.
func (a *agent) serve(in io.Reader, out io.Writer, ports []int) error {
	writerDone := make(chan error, 1)
	go func() { writerDone <- a.writeLoop(out) }()
	if err := a.listen(ports); err != nil {
		a.send(frame{typ: frameError, payload: []byte(err.Error())})
		a.stop()
		<-writerDone
		return err
	}
	a.send(frame{typ: frameHello, payload: []byte(helloText)})
	for i, l := range a.listeners {
		go a.acceptLoop(l, ports[i])
	}
	err := a.readLoop(in)
	a.stop()
	<-writerDone
	return err
}

func (a *agent) stop() {
	a.closeOnce.Do(func() {
		close(a.done)
		for _, l := range a.listeners {
			l.Close()
		}
		a.mu.Lock()
		for _, c := range a.conns {
			c.abort(false)
		}
		a.mu.Unlock()
	})
}

// writeLoop writes frames as they come, flushing whenever none is waiting.
func (a *agent) writeLoop(out io.Writer) error {
	w := bufio.NewWriterSize(out, 64*1024)
	for {
		var b []byte
		select {
		case b = <-a.out:
		case <-a.done:
			// What is queued still goes out (the ERROR frame before exit).
			for {
				select {
				case b = <-a.out:
					w.Write(b)
				default:
					return w.Flush()
				}
			}
		}
		if _, err := w.Write(b); err != nil {
			a.stop()
			return err
		}
		if len(a.out) == 0 {
			if err := w.Flush(); err != nil {
				a.stop()
				return err
			}
		}
	}
}

func (a *agent) acceptLoop(l net.Listener, port int) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		tcp := c.(*net.TCPConn)
		tcp.SetNoDelay(true)
		a.mu.Lock()
		select {
		case <-a.done:
			a.mu.Unlock()
			tcp.Close()
			return
		default:
		}
		a.nextID++
		k := &conn{a: a, id: a.nextID, c: tcp, credit: initialWindow}
		k.cond = sync.NewCond(&k.mu)
		a.conns[k.id] = k
		a.mu.Unlock()
		a.send(frame{typ: frameOpen, id: k.id, payload: []byte{byte(port >> 8), byte(port)}})
		go k.readLoop()
		go k.writeLoop()
	}
}

// readLoop takes the laptop's frames to their connections.
func (a *agent) readLoop(in io.Reader) error {
	frames := make(chan frame)
	failed := make(chan error, 1)
	go func() {
		r := bufio.NewReaderSize(in, 64*1024)
		for {
			f, err := readFrame(r)
			if err != nil {
				failed <- err
				return
			}
			select {
			case frames <- f:
			case <-a.done:
				return
			}
		}
	}()
	timer := time.NewTimer(a.idle)
	defer timer.Stop()
	for {
		select {
		case f := <-frames:
			timer.Reset(a.idle)
			a.dispatch(f)
		case err := <-failed:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case <-timer.C:
			return fmt.Errorf("no frame from kubectl-dev for %s", a.idle)
		case <-a.done:
			return nil
		}
	}
}

func (a *agent) dispatch(f frame) {
	if f.typ == framePing {
		a.send(frame{typ: framePong})
		return
	}
	a.mu.Lock()
	k := a.conns[f.id]
	a.mu.Unlock()
	if k == nil {
		return // already gone: a frame that crossed its CLOSE
	}
	switch f.typ {
	case frameData:
		k.mu.Lock()
		if !k.peerEnd && !k.gone {
			k.queue = append(k.queue, f.payload)
			k.cond.Broadcast()
		}
		k.mu.Unlock()
	case frameEnd:
		k.mu.Lock()
		k.peerEnd = true
		k.cond.Broadcast()
		k.mu.Unlock()
	case frameWindow:
		if len(f.payload) == 4 {
			k.mu.Lock()
			k.credit += int(uint32(f.payload[0])<<24 | uint32(f.payload[1])<<16 | uint32(f.payload[2])<<8 | uint32(f.payload[3]))
			k.cond.Broadcast()
			k.mu.Unlock()
		}
	case frameClose:
		k.abort(false)
	}
}

// readLoop sends what the app writes, as far as the laptop's window allows.
func (k *conn) readLoop() {
	for {
		k.mu.Lock()
		for k.credit <= 0 && !k.gone {
			k.cond.Wait()
		}
		if k.gone {
			k.mu.Unlock()
			return
		}
		n := min(k.credit, maxData)
		k.mu.Unlock()
		buf := make([]byte, n)
		got, err := k.c.Read(buf)
		if got > 0 {
			k.mu.Lock()
			k.credit -= got
			gone := k.gone
			k.mu.Unlock()
			if gone {
				return
			}
			k.a.send(frame{typ: frameData, id: k.id, payload: buf[:got]})
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				k.a.send(frame{typ: frameEnd, id: k.id})
				k.mu.Lock()
				k.readDone = true
				k.mu.Unlock()
				k.finishIfDone()
			} else {
				k.abort(true)
			}
			return
		}
	}
}

// writeLoop writes the laptop's data to the app, granting the window back as it goes.
func (k *conn) writeLoop() {
	for {
		k.mu.Lock()
		for len(k.queue) == 0 && !k.peerEnd && !k.gone {
			k.cond.Wait()
		}
		if k.gone {
			k.mu.Unlock()
			return
		}
		if len(k.queue) == 0 && k.peerEnd {
			k.mu.Unlock()
			k.c.CloseWrite()
			k.mu.Lock()
			k.writeDone = true
			k.mu.Unlock()
			k.finishIfDone()
			return
		}
		b := k.queue[0]
		k.queue = k.queue[1:]
		k.mu.Unlock()
		if _, err := k.c.Write(b); err != nil {
			k.abort(true)
			return
		}
		k.a.send(frame{typ: frameWindow, id: k.id, payload: windowPayload(len(b))})
	}
}

func (k *conn) finishIfDone() {
	k.mu.Lock()
	done := k.readDone && k.writeDone && !k.gone
	if done {
		k.gone = true
		k.cond.Broadcast()
	}
	k.mu.Unlock()
	if done {
		k.c.Close()
		k.forget()
	}
}

// abort drops the connection (a reset for the app); tell: the laptop hears of it.
func (k *conn) abort(tell bool) {
	k.mu.Lock()
	if k.gone {
		k.mu.Unlock()
		return
	}
	k.gone = true
	k.cond.Broadcast()
	k.mu.Unlock()
	k.c.SetLinger(0)
	k.c.Close()
	if tell {
		k.a.send(frame{typ: frameClose, id: k.id})
	}
	go k.forget() // abort may run with a.mu held (stop)
}

func (k *conn) forget() {
	k.a.mu.Lock()
	delete(k.a.conns, k.id)
	k.a.mu.Unlock()
}

package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	in := []frame{{typ: frameHello, payload: []byte(helloText)}, {typ: frameData, id: 7, payload: []byte("abc")}, {typ: frameEnd, id: 7}, {typ: frameWindow, id: 1 << 31, payload: windowPayload(65536)}}
	for _, f := range in {
		buf.Write(encodeFrame(f))
	}
	for _, want := range in {
		got, err := readFrame(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if got.typ != want.typ || got.id != want.id || !bytes.Equal(got.payload, want.payload) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
	if _, err := readFrame(&buf); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
}

func TestFrameRejectsBrokenStreams(t *testing.T) {
	whole := encodeFrame(frame{typ: frameData, id: 1, payload: []byte("hello")})
	for name, b := range map[string][]byte{
		"cut header":   whole[:4],
		"cut payload":  whole[:11],
		"unknown type": append([]byte{42}, whole[1:]...),
		"huge payload": {frameData, 0, 0, 0, 1, 0, 1, 0, 1},
	} {
		if _, err := readFrame(bytes.NewReader(b)); err == nil || err == io.EOF {
			t.Errorf("%s: %v, want a bad-frame error", name, err)
		}
	}
}

// laptop is the test's side of the exec session.
type laptop struct {
	t       *testing.T
	toAgent *io.PipeWriter
	frames  chan frame
	done    chan error
}

func startAgent(t *testing.T, ports []int) *laptop {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	l := &laptop{t: t, toAgent: inW, frames: make(chan frame, 4096), done: make(chan error, 1)}
	go func() {
		err := newAgent(5*time.Second).serve(inR, outW, ports)
		outW.Close()
		l.done <- err
	}()
	go func() {
		r := bufio.NewReader(outR)
		for {
			f, err := readFrame(r)
			if err != nil {
				close(l.frames)
				return
			}
			l.frames <- f
		}
	}()
	t.Cleanup(func() { inW.Close() })
	return l
}

func (l *laptop) send(f frame) {
	if _, err := l.toAgent.Write(encodeFrame(f)); err != nil {
		l.t.Fatal(err)
	}
}

func (l *laptop) next() frame {
	select {
	case f, ok := <-l.frames:
		if !ok {
			l.t.Fatal("the agent's stream ended")
		}
		return f
	case <-time.After(5 * time.Second):
		l.t.Fatal("no frame from the agent")
	}
	return frame{}
}

// nextOf skips WINDOW and PONG frames.
func (l *laptop) nextOf() frame {
	for {
		f := l.next()
		if f.typ != frameWindow && f.typ != framePong {
			return f
		}
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestHelloThenHalfCloseBothWays(t *testing.T) {
	port := freePort(t)
	l := startAgent(t, []int{port})
	if f := l.next(); f.typ != frameHello || string(f.payload) != helloText {
		t.Fatalf("first frame %+v, want HELLO", f)
	}
	app, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	open := l.nextOf()
	if open.typ != frameOpen || binary.BigEndian.Uint16(open.payload) != uint16(port) {
		t.Fatalf("got %+v, want OPEN for port %d", open, port)
	}
	app.Write([]byte("GET /"))
	app.(*net.TCPConn).CloseWrite()
	var got []byte
	for {
		f := l.nextOf()
		if f.typ == frameData {
			got = append(got, f.payload...)
			continue
		}
		if f.typ != frameEnd || f.id != open.id {
			t.Fatalf("got %+v, want END", f)
		}
		break
	}
	if string(got) != "GET /" {
		t.Fatalf("data %q", got)
	}
	// The app's write half is shut; it still reads the answer, then the laptop's END.
	l.send(frame{typ: frameData, id: open.id, payload: []byte("answer")})
	l.send(frame{typ: frameEnd, id: open.id})
	answer, err := io.ReadAll(app)
	if err != nil || string(answer) != "answer" {
		t.Fatalf("the app read %q, %v", answer, err)
	}
}

func TestCloseResetsTheAppsConnection(t *testing.T) {
	port := freePort(t)
	l := startAgent(t, []int{port})
	l.next()
	app, _ := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	open := l.nextOf()
	l.send(frame{typ: frameClose, id: open.id})
	app.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := app.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("read after CLOSE: %v, want the connection gone", err)
	}
}

func TestWindowHoldsBackOnlyItsConnection(t *testing.T) {
	port := freePort(t)
	l := startAgent(t, []int{port})
	l.next()
	slow, _ := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	slowOpen := l.nextOf()
	// The slow connection's app writes far more than the window; the laptop grants nothing.
	go slow.Write(bytes.Repeat([]byte("x"), 4*initialWindow))
	received := 0
	deadline := time.After(2 * time.Second)
	fast, _ := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	var fastOpen frame
loop:
	for {
		select {
		case f := <-l.frames:
			switch {
			case f.typ == frameData && f.id == slowOpen.id:
				received += len(f.payload)
			case f.typ == frameOpen:
				fastOpen = f
			}
		case <-deadline:
			break loop
		}
	}
	if received != initialWindow {
		t.Fatalf("the agent sent %d bytes of the slow connection without a grant, want exactly the window %d", received, initialWindow)
	}
	if fastOpen.typ != frameOpen {
		t.Fatal("no OPEN for the second connection while the first was held back")
	}
	fast.Write([]byte("ping"))
	if f := l.nextOf(); f.typ != frameData || f.id != fastOpen.id || string(f.payload) != "ping" {
		t.Fatalf("got %+v, want the fast connection's data", f)
	}
	// Granting more lets the slow one go on.
	l.send(frame{typ: frameWindow, id: slowOpen.id, payload: windowPayload(1000)})
	more := 0
	for more < 1000 {
		f := l.nextOf()
		if f.typ == frameData && f.id == slowOpen.id {
			more += len(f.payload)
		}
	}
	if more != 1000 {
		t.Fatalf("after a grant of 1000: %d bytes", more)
	}
}

func TestManyConnections(t *testing.T) {
	port := freePort(t)
	l := startAgent(t, []int{port})
	l.next()
	const n = 60
	ids := map[uint32]bool{}
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		f := l.nextOf()
		if f.typ != frameOpen || ids[f.id] {
			t.Fatalf("connection %d: %+v", i, f)
		}
		ids[f.id] = true
	}
}

func TestPortInUseIsAnErrorFrame(t *testing.T) {
	busy, _ := net.Listen("tcp4", "127.0.0.1:0")
	defer busy.Close()
	l := startAgent(t, []int{busy.Addr().(*net.TCPAddr).Port})
	f := l.next()
	if f.typ != frameError || !strings.Contains(string(f.payload), "address already in use") {
		t.Fatalf("got %+v, want ERROR naming the busy address", f)
	}
	if err := <-l.done; err == nil {
		t.Fatal("serve returned no error")
	}
}

func TestPingAndEndOfStdin(t *testing.T) {
	port := freePort(t)
	l := startAgent(t, []int{port})
	l.next()
	l.send(frame{typ: framePing})
	if f := l.next(); f.typ != framePong {
		t.Fatalf("got %+v, want PONG", f)
	}
	l.toAgent.Close()
	select {
	case err := <-l.done:
		if err != nil {
			t.Fatalf("serve after stdin ended: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the agent did not stop when stdin ended")
	}
	if _, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		t.Fatal("the port still listens after the agent stopped")
	}
}

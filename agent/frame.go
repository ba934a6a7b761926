// The frames the agent and kubectl-dev exchange over the exec session's stdin and stdout:
// a 9-byte header (type, connection id, payload length, big-endian) and the payload.
// The same layout is written in src/reverse/frames.ts.
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const (
	// Agent → laptop, once: the protocol name and version; every listener is up.
	frameHello byte = 1
	// Agent → laptop: why it stops (a port it cannot listen on); it exits after.
	frameError byte = 2
	// Agent → laptop: a connection accepted; payload: the listening port (2 bytes).
	frameOpen byte = 3
	// Either way: bytes of a connection (at most the peer's window).
	frameData byte = 4
	// Either way: the sender's side shut its write half (no more data on it).
	frameEnd byte = 5
	// Either way: the connection is gone (reset, refused); nothing more on it.
	frameClose byte = 6
	// Either way: the receiver wrote this many more bytes out (payload: 4 bytes); the sender may send them.
	frameWindow byte = 7
	// Laptop → agent: keep-alive; the agent answers with framePong.
	framePing byte = 8
	framePong byte = 9
)

const (
	headerSize = 9
	// What one DATA frame carries at most.
	maxData = 32 * 1024
	// Frames bigger than this are a broken stream.
	maxPayload = 64 * 1024
	// What each side may send on a connection before the other grants more (WINDOW).
	initialWindow = 256 * 1024
	helloText     = "kubectl-dev-agent 1"
)

type frame struct {
	typ     byte
	id      uint32
	payload []byte
}

func encodeFrame(f frame) []byte {
	out := make([]byte, headerSize+len(f.payload))
	out[0] = f.typ
	binary.BigEndian.PutUint32(out[1:5], f.id)
	binary.BigEndian.PutUint32(out[5:9], uint32(len(f.payload)))
	copy(out[headerSize:], f.payload)
	return out
}

func windowPayload(n int) []byte {
	out := make([]byte, 4)
	binary.BigEndian.PutUint32(out, uint32(n))
	return out
}

var errBadFrame = errors.New("bad frame")

// readFrame reads one frame; io.EOF only at a frame boundary.
func readFrame(r io.Reader) (frame, error) {
	var head [headerSize]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return frame{}, fmt.Errorf("%w: the stream ended inside a header", errBadFrame)
		}
		return frame{}, err
	}
	f := frame{typ: head[0], id: binary.BigEndian.Uint32(head[1:5])}
	n := binary.BigEndian.Uint32(head[5:9])
	if f.typ < frameHello || f.typ > framePong {
		return frame{}, fmt.Errorf("%w: type %d", errBadFrame, f.typ)
	}
	if n > maxPayload {
		return frame{}, fmt.Errorf("%w: payload of %d bytes", errBadFrame, n)
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(r, f.payload); err != nil {
		return frame{}, fmt.Errorf("%w: the stream ended inside a payload", errBadFrame)
	}
	return f, nil
}

// goyaml reads YAML manifest streams the way kubectl and Helm do: apimachinery's
// YAMLOrJSONDecoder over sigs.k8s.io/yaml (go-yaml v2), one RawExtension per
// document, empty and null documents skipped as kubectl's resource builder skips them.
//
// Input on stdin: a JSON array of streams (strings). Output on stdout: a JSON array
// with, for each stream, {"docs": [<the JSON kubectl gets for each document>]} or
// {"error": "<the decoder's message>"}. Used by the differential tests
// (test/unit/core/yaml-differential.test.ts); built by test/tools/goyaml.ts.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

type result struct {
	Docs  []json.RawMessage `json:"docs,omitempty"`
	Error string            `json:"error,omitempty"`
}

func read(stream string) (res result) {
	defer func() {
		if r := recover(); r != nil {
			res = result{Error: fmt.Sprintf("panic: %v", r)}
		}
	}()
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(stream)), 4096)
	docs := []json.RawMessage{}
	for {
		ext := runtime.RawExtension{}
		if err := d.Decode(&ext); err != nil {
			if err == io.EOF {
				return result{Docs: docs}
			}
			return result{Error: err.Error()}
		}
		// As cli-runtime's StreamVisitor: empty and null documents are skipped.
		raw := bytes.TrimSpace(ext.Raw)
		if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
			continue
		}
		docs = append(docs, json.RawMessage(raw))
	}
}

func main() {
	var streams []string
	if err := json.NewDecoder(bufio.NewReader(os.Stdin)).Decode(&streams); err != nil {
		fmt.Fprintln(os.Stderr, "goyaml: stdin must be a JSON array of strings:", err)
		os.Exit(2)
	}
	out := make([]result, len(streams))
	for i, s := range streams {
		out[i] = read(s)
	}
	w := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "goyaml:", err)
		os.Exit(1)
	}
	w.Flush()
}

// Package gguf reads and writes GGUF files (versions 2 and 3), the container
// format of ggml and llama.cpp: typed metadata key/values and tensor
// descriptions followed by aligned tensor data. Files are memory-mapped
// read-only when the platform allows it; every count, length, offset and
// tensor byte range in a header is checked against the file size before
// anything is allocated, so a hostile file gives an error, never a panic or a
// huge allocation.
//
// It depends only on the standard library, golang.org/x/sys and the tensor
// package (for the block sizes of tensor types).
package gguf

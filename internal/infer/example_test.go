package infer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/deai-network/deai/internal/infer"
)

// Greedy generation from stories260K, stopping at the first full stop.
func ExampleModel_Generate() {
	m, err := infer.Load(filepath.Join("..", "..", "..", "shared", "models", "stories260K.gguf"), infer.Options{Threads: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	prompt := m.Tokenizer().Encode("Once upon a time", true)
	res, err := m.Generate(context.Background(), infer.GenerateRequest{Prompt: prompt, MaxTokens: 64, Stop: []string{"."}},
		func(id int, piece []byte) error { _, err := os.Stdout.Write(piece); return err })
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("\n%s after %d tokens\n", res.FinishReason, res.CompletionTokens)
	// Output:
	// , there was a little girl named Lily
	// stop after 11 tokens
}

// A random-weight model of a realistic shape, for benchmarks.
func ExampleSynth() {
	f, err := os.CreateTemp("", "tiny-*.gguf")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.Remove(f.Name())
	if err := infer.Synth(f, infer.SynthOptions{Shape: "tiny", Type: "q8_0", Seed: 1}); err != nil {
		fmt.Println(err)
		return
	}
	f.Close()
	m, err := infer.Load(f.Name(), infer.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	in := m.Info()
	fmt.Println(in.Architecture, in.Layers, in.EmbeddingLength, in.TensorTypes)
	// Output:
	// llama 2 256 map[F32:5 Q8_0:16]
}

package chat

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/errs"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// The golden files hold, by hand, what the Hugging Face Jinja templates
// produce for these conversations (the "conversation" one is llama.cpp's
// test-chat-template conversation). Regenerating them with -update
// only makes sense after checking the new output against the Jinja.
var conversations = []struct {
	name string
	msgs []Message
	gen  bool
}{
	{"conversation", []Message{
		{"system", "You are a helpful assistant"},
		{"user", "Hello"},
		{"assistant", "Hi there"},
		{"user", "Who are you"},
		{"assistant", "   I am an assistant   "},
		{"user", "Another question"},
	}, true},
	{"nosystem", []Message{{"user", "Hello"}, {"assistant", "Hi there"}, {"user", "Who are you"}}, true},
	{"single", []Message{{"user", "Hi"}}, false},
}

func TestRenderGolden(t *testing.T) {
	for _, name := range Names() {
		tmpl, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if tmpl.Name() != name {
			t.Errorf("Lookup(%q).Name() = %q", name, tmpl.Name())
		}
		for _, c := range conversations {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				got, err := tmpl.Render(c.msgs, c.gen)
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				path := filepath.Join("testdata", name+"_"+c.name+".golden")
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(string(want), got); diff != "" {
					t.Errorf("Render (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		tmpl string
		msgs []Message
		want string
	}{
		{"llama2", []Message{{"user", "a"}, {"user", "b"}}, "must alternate"},
		{"llama2", []Message{{"system", "s"}, {"assistant", "a"}}, "must alternate"},
		{"mistral", []Message{{"assistant", "a"}}, "must alternate"},
		{"mistral", []Message{{"user", "a"}, {"tool", "b"}}, "only user and assistant roles"},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl+"/"+tt.want, func(t *testing.T) {
			tmpl, _ := Lookup(tt.tmpl)
			_, err := tmpl.Render(tt.msgs, true)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Render error = %v, want it to mention %q", err, tt.want)
			}
			if errs.KindOf(err) != errs.Invalid {
				t.Errorf("kind = %v, want invalid", errs.KindOf(err))
			}
		})
	}
}

func TestRenderEdges(t *testing.T) {
	tests := []struct {
		tmpl string
		msgs []Message
		gen  bool
		want string
	}{
		// The Jinja writes nothing for a non-user, non-assistant role at an
		// odd position.
		{"llama2", []Message{{"user", "a"}, {"tool", "t"}}, false, "<s>[INST] a [/INST]"},
		{"llama2", []Message{{"system", "s"}}, false, ""},
		{"llama2", []Message{{"user", " \t a \n"}}, false, "<s>[INST] a [/INST]"},
		{"mistral", []Message{{"system", "s"}}, false, "<s>"},
		{"llama3", nil, true, "<|start_header_id|>assistant<|end_header_id|>\n\n"},
		{"chatml", []Message{{"tool", "x"}}, false, "<|im_start|>tool\nx<|im_end|>\n"},
		{"plain", nil, true, "assistant:"},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			tmpl, _ := Lookup(tt.tmpl)
			got, err := tmpl.Render(tt.msgs, tt.gen)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Render (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLookupUnknown(t *testing.T) {
	_, err := Lookup("vicuna")
	if err == nil || errs.KindOf(err) != errs.NotExist || !strings.Contains(err.Error(), "chatml") {
		t.Fatalf("Lookup(vicuna) = %v, want a not-exist error listing the known names", err)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		file, arch, want string
	}{
		{"openhermes_chatml.jinja", "llama", "chatml"},
		{"qwen2_chatml.jinja", "qwen2", "chatml"},
		{"llama2_chat.jinja", "llama", "llama2"},
		{"llama3_instruct.jinja", "llama", "llama3"},
		{"mistral_v01_old.jinja", "llama", "mistral"},
		{"mistral_v1.jinja", "llama", "mistral"},
		{"zephyr.jinja", "llama", "plain"},
		{"", "llama", "plain"},
		{"", "qwen2", "chatml"},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.arch, func(t *testing.T) {
			var src []byte
			if tt.file != "" {
				var err error
				src, err = os.ReadFile(filepath.Join("testdata", "templates", tt.file))
				if err != nil {
					t.Fatal(err)
				}
			}
			if got := Detect(string(src), tt.arch).Name(); got != tt.want {
				t.Errorf("Detect = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStop(t *testing.T) {
	want := map[string][]string{
		"chatml": {"<|im_end|>"}, "llama2": {"</s>"}, "llama3": {"<|eot_id|>"},
		"mistral": {"</s>"}, "plain": {"\nuser:"},
	}
	for name, w := range want {
		tmpl, _ := Lookup(name)
		if diff := cmp.Diff(w, tmpl.Stop()); diff != "" {
			t.Errorf("%s Stop (-want +got):\n%s", name, diff)
		}
	}
}

func ExampleDetect() {
	tmpl := Detect("{% for message in messages %}{{'<|im_start|>' + message['role'] ...", "llama")
	text, _ := tmpl.Render([]Message{{Role: "user", Content: "Hi"}}, true)
	fmt.Printf("%s %q\n", tmpl.Name(), text)
	// Output: chatml "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
}

func ExampleLookup() {
	tmpl, err := Lookup("llama2")
	if err != nil {
		panic(err)
	}
	text, _ := tmpl.Render([]Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}}, true)
	fmt.Printf("%q\n", text)
	// Output: "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]"
}

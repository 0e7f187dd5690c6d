// Package chat renders a conversation into the prompt text a chat model was
// trained on: ChatML, Llama-2, Llama-3 and Mistral, written out by hand to
// give exactly what the models' Hugging Face Jinja templates give, plus a
// plain fallback. Detect picks one from a GGUF file's
// tokenizer.chat_template by fingerprint; no Jinja is interpreted.
//
// The rendered text includes the special tokens the template writes,
// bos_token included ("<s>", "<|begin_of_text|>"). Tokenize it with the
// tokenizer's EncodeSpecial, and add BOS only when the text does not
// already begin with it, as Hugging Face's apply_chat_template does:
//
//	addBOS := tok.AddBOS() && !strings.HasPrefix(text, tok.Token(tok.BOS()))
//	ids := tok.EncodeSpecial(text, addBOS)
//
// It depends only on the standard library and internal/errs.
package chat

import (
	"strings"
	"unicode"

	"github.com/deai-network/deai/internal/errs"
)

// Message is one turn of a conversation. Role is "system", "user" or
// "assistant" (ChatML and the plain format accept any role).
type Message struct {
	Role, Content string
}

// Template renders conversations for one model family.
type Template interface {
	// Name is the name Lookup accepts.
	Name() string
	// Render returns the prompt text. With addGenerationPrompt it ends with
	// the header that makes the model answer as the assistant (Llama-2 and
	// Mistral end a user turn with [/INST] anyway). Conversations the
	// Jinja template rejects (roles that do not alternate) give an
	// errs.Invalid error.
	Render(msgs []Message, addGenerationPrompt bool) (string, error)
	// Stop lists texts that end the assistant's turn. They are usually
	// single tokens that the tokenizer's IsEOG also catches.
	Stop() []string
}

// Names lists the templates Lookup knows.
func Names() []string { return []string{"chatml", "llama2", "llama3", "mistral", "plain"} }

// Lookup returns the template with the given name.
func Lookup(name string) (Template, error) {
	switch name {
	case "chatml":
		return chatML{}, nil
	case "llama2":
		return llama2{}, nil
	case "llama3":
		return llama3{}, nil
	case "mistral":
		return mistral{}, nil
	case "plain":
		return plain{}, nil
	}
	return nil, errs.E("lookup chat template", errs.NotExist, "unknown chat template %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Detect chooses a template from a GGUF tokenizer.chat_template string by
// the markers each family's template contains, in llama.cpp's spirit:
// "<|im_start|>" is ChatML, "<|start_header_id|>" Llama-3, "[INST]" with
// "<<SYS>>" Llama-2 and without it Mistral. Without a template, Qwen
// architectures get ChatML. Anything else gets the plain format.
func Detect(chatTemplateJinja string, arch string) Template {
	t := chatTemplateJinja
	switch {
	case strings.Contains(t, "<|im_start|>"):
		return chatML{}
	case strings.Contains(t, "<|start_header_id|>"):
		return llama3{}
	case strings.Contains(t, "[INST]") && strings.Contains(t, "<<SYS>>"):
		return llama2{}
	case strings.Contains(t, "[INST]"):
		return mistral{}
	case t == "" && (arch == "qwen2" || arch == "qwen"):
		return chatML{}
	}
	return plain{}
}

// pyStrip is Python's str.strip() (Jinja's trim): Unicode whitespace, which
// also counts the separators U+001C..U+001F.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f })
}

func alternationError(op string) error {
	return errs.E(op, errs.Invalid, "conversation roles must alternate user/assistant/user/assistant/...")
}

// chatML is the OpenHermes / Qwen format:
//
//	{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}
//
// Qwen's own templates add a default system message when none is given;
// this one does not.
type chatML struct{}

func (chatML) Name() string   { return "chatml" }
func (chatML) Stop() []string { return []string{"<|im_end|>"} }
func (chatML) Render(msgs []Message, gen bool) (string, error) {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
	}
	if gen {
		b.WriteString("<|im_start|>assistant\n")
	}
	return b.String(), nil
}

// llama2 is meta-llama/Llama-2-*-chat-hf's template: the system message
// goes inside the first [INST] in a <<SYS>> block; each user turn starts
// with <s>, each assistant turn ends with </s>; contents are stripped.
type llama2 struct{}

func (llama2) Name() string   { return "llama2" }
func (llama2) Stop() []string { return []string{"</s>"} }
func (llama2) Render(msgs []Message, _ bool) (string, error) {
	const op = "render llama2 chat"
	system, hasSystem := "", false
	if len(msgs) > 0 && msgs[0].Role == "system" {
		system, hasSystem, msgs = msgs[0].Content, true, msgs[1:]
	}
	var b strings.Builder
	for i, m := range msgs {
		if (m.Role == "user") != (i%2 == 0) {
			return "", alternationError(op)
		}
		content := m.Content
		if i == 0 && hasSystem {
			content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content
		}
		switch m.Role {
		case "user":
			b.WriteString("<s>[INST] " + pyStrip(content) + " [/INST]")
		case "assistant":
			b.WriteString(" " + pyStrip(content) + " </s>")
		} // the Jinja template writes nothing for other roles
	}
	return b.String(), nil
}

// llama3 is Meta-Llama-3-8B-Instruct's template: a header per message,
// contents trimmed, <|eot_id|> after each, <|begin_of_text|> first. (Llama
// 3.1's template adds a dated system preamble that this does not.)
type llama3 struct{}

func (llama3) Name() string   { return "llama3" }
func (llama3) Stop() []string { return []string{"<|eot_id|>"} }
func (llama3) Render(msgs []Message, gen bool) (string, error) {
	var b strings.Builder
	for i, m := range msgs {
		if i == 0 {
			b.WriteString("<|begin_of_text|>")
		}
		b.WriteString("<|start_header_id|>" + m.Role + "<|end_header_id|>\n\n" + pyStrip(m.Content) + "<|eot_id|>")
	}
	if gen {
		b.WriteString("<|start_header_id|>assistant<|end_header_id|>\n\n")
	}
	return b.String(), nil
}

// mistral is Mistral-7B-Instruct v0.1/v0.2's current template (llama.cpp's
// "mistral-v1"): no system block; a system message is prepended to the
// first user message; " [INST] … [/INST]" turns, " answer</s>".
type mistral struct{}

func (mistral) Name() string   { return "mistral" }
func (mistral) Stop() []string { return []string{"</s>"} }
func (mistral) Render(msgs []Message, _ bool) (string, error) {
	const op = "render mistral chat"
	system, hasSystem := "", false
	if len(msgs) > 0 && msgs[0].Role == "system" {
		system, hasSystem, msgs = msgs[0].Content, true, msgs[1:]
	}
	var b strings.Builder
	b.WriteString("<s>")
	for i, m := range msgs {
		if (m.Role == "user") != (i%2 == 0) {
			return "", errs.E(op, errs.Invalid, "after the optional system message, conversation roles must alternate user/assistant/user/assistant/...")
		}
		switch m.Role {
		case "user":
			if i == 0 && hasSystem {
				b.WriteString(" [INST] " + system + "\n\n" + m.Content + " [/INST]")
			} else {
				b.WriteString(" [INST] " + m.Content + " [/INST]")
			}
		case "assistant":
			b.WriteString(" " + m.Content + "</s>")
		default:
			return "", errs.E(op, errs.Invalid, "only user and assistant roles are supported, with the exception of an initial optional system message (got %q)", m.Role)
		}
	}
	return b.String(), nil
}

// plain is the fallback for models without a template: "role: content"
// lines, then "assistant:" to prompt the answer.
type plain struct{}

func (plain) Name() string   { return "plain" }
func (plain) Stop() []string { return []string{"\nuser:"} }
func (plain) Render(msgs []Message, gen bool) (string, error) {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.Role + ": " + m.Content + "\n")
	}
	if gen {
		b.WriteString("assistant:")
	}
	return b.String(), nil
}

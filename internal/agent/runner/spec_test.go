package runner_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/agent/runner"
)

// TestSpecErrors: each mistake is refused with ErrSpec and a message
// naming the field.
func TestSpecErrors(t *testing.T) {
	payee := key(t, 9).Address().String()
	base := "name: a\nbudget: {total: 1deai}\n"
	steps := "triggers: [{every: 1m}]\nsteps: [{value: x}]\n"
	tests := []struct {
		name, spec, want string
	}{
		{"bad name", "name: A!\nbudget: {total: 1deai}\n" + steps, "name:"},
		{"no total", "name: a\nbudget: {}\n" + steps, "budget.total"},
		{"per period without period", "name: a\nbudget: {total: 1deai, per_period: 1udeai}\n" + steps, "budget.period"},
		{"bad period", "name: a\nbudget: {total: 1deai, per_period: 1udeai, period: soon}\n" + steps, "budget.period"},
		{"approval without key", "name: a\nbudget: {total: 1deai, approve_above: 1udeai}\n" + steps, "budget.owner_key"},
		{"bad owner key", "name: a\nbudget: {total: 1deai, owner_key: abc}\n" + steps, "budget.owner_key"},
		{"bad expiry", "name: a\nbudget: {total: 1deai, expires: tomorrow}\n" + steps, "budget.expires"},
		{"bad allow", "name: a\nbudget: {total: 1deai, allow: {nobody: 1udeai}}\n" + steps, "budget.allow"},
		{"nothing to do", base, "steps"},
		{"steps without trigger", base + "steps: [{value: x}]\n", "triggers"},
		{"trigger without steps", base + "triggers: [{every: 1m}]\n", "steps"},
		{"two trigger kinds", base + "triggers: [{every: 1m, http: {listen: '127.0.0.1:1'}}]\nsteps: [{value: x}]\n", "triggers[0]"},
		{"fast trigger", base + "triggers: [{every: 1ms}]\nsteps: [{value: x}]\n", "triggers[0].every"},
		{"bad listen", base + "triggers: [{http: {listen: nowhere}}]\nsteps: [{value: x}]\n", "triggers[0].http.listen"},
		{"two step kinds", base + "triggers: [{every: 1m}]\nsteps: [{value: x, read: {file: f}}]\n", "steps[0]"},
		{"no step kind", base + "triggers: [{every: 1m}]\nsteps: [{id: x}]\n", "steps[0]"},
		{"duplicate ids", base + "triggers: [{every: 1m}]\nsteps: [{id: x, value: a}, {id: x, value: b}]\n", "steps[1].id"},
		{"bad id", base + "triggers: [{every: 1m}]\nsteps: [{id: 1x, value: a}]\n", "steps[0].id"},
		{"bad template", base + "triggers: [{every: 1m}]\nsteps: [{value: '{{.Input'}]\n", "steps[0].value"},
		{"call without target", base + "triggers: [{every: 1m}]\nsteps: [{call: {}}]\n", "steps[0].call"},
		{"url call without payee", base + "triggers: [{every: 1m}]\nsteps: [{call: {url: 'http://x'}}]\n", "steps[0].call.payee"},
		{"bad url", base + "triggers: [{every: 1m}]\nsteps: [{call: {url: 'ftp://x', payee: " + payee + "}}]\n", "steps[0].call.url"},
		{"model without pay", base + "triggers: [{every: 1m}]\nsteps: [{model: {gateway: 'http://x/v1', model: m, prompt: p}}]\n", "steps[0].model"},
		{"model without model", base + "triggers: [{every: 1m}]\nsteps: [{model: {gateway: 'http://x/v1', payee: " + payee + ", prompt: p}}]\n", "steps[0].model.model"},
		{"zero transfer", base + "triggers: [{every: 1m}]\nsteps: [{transfer: {to: " + payee + ", amount: 0}}]\n", "steps[0].transfer.amount"},
		{"bad stake hotkey", base + "triggers: [{every: 1m}]\nsteps: [{stake: {netuid: 1, hotkey: x, amount: 1udeai}}]\n", "steps[0].stake.hotkey"},
		{"lease without sdl", base + "triggers: [{every: 1m}]\nsteps: [{lease: {deposit: 1deai}}]\n", "steps[0].lease.sdl"},
		{"output both", base + steps + "outputs: [{file: f, http: 'http://x'}]\n", "outputs[0]"},
		{"free service", base + "services: [{name: s, listen: '127.0.0.1:1', price: 0, steps: [{value: x}]}]\n", "services[0].price"},
		{"service moving funds", base + "services: [{name: s, listen: '127.0.0.1:1', price: 1udeai, steps: [{transfer: {to: " + payee + ", amount: 1udeai}}]}]\n", "services[0].steps[0]"},
		{"register without schema", base + "services: [{name: s, listen: '127.0.0.1:1', price: 1udeai, register: {endpoint: 'http://x'}, steps: [{value: x}]}]\n", "services[0].register.schema"},
		{"trigger on a service's address", base + "services: [{name: s, listen: '127.0.0.1:1', price: 1udeai, steps: [{value: x}]}]\ntriggers: [{http: {listen: '127.0.0.1:1'}}]\nsteps: [{value: x}]\n", "triggers[0].http.listen"},
		{"unknown field", base + steps + "colour: blue\n", "colour"},
		{"bad amount", "name: a\nbudget: {total: lots}\n" + steps, "amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runner.Parse([]byte(tt.spec))
			if err == nil {
				t.Fatalf("accepted:\n%s", tt.spec)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not name %q", err, tt.want)
			}
		})
	}
}

// TestExpandEnv: ${VAR} and ${VAR:-default}; an unset variable without a
// default is an error naming it.
func TestExpandEnv(t *testing.T) {
	env := map[string]string{"A": "1", "EMPTY": ""}
	look := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	got, err := runner.ExpandEnv([]byte("x: ${A} y: ${B:-2} z: ${EMPTY:-3} t: {{.Input}}"), look)
	if err != nil || string(got) != "x: 1 y: 2 z: 3 t: {{.Input}}" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := runner.ExpandEnv([]byte("${MISSING} ${A}"), look); !errors.Is(err, runner.ErrSpec) || !strings.Contains(err.Error(), "MISSING") {
		t.Fatalf("missing variable: %v", err)
	}
}

// TestExamplesParse: the shipped examples load with the variables the
// docs tell users to set.
func TestExamplesParse(t *testing.T) {
	t.Setenv("DEAI_GATEWAY_ADDRESS", key(t, 9).Address().String())
	for _, f := range []string{"fetcher", "summarizer", "pipeline"} {
		s, err := runner.Load(filepath.Join("..", "..", "..", "examples", "agents", f+".yaml"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if s.Name != f {
			t.Fatalf("%s: name %q", f, s.Name)
		}
	}
}

// FuzzParse: no input panics the decoder, and whatever it accepts
// validates again unchanged.
func FuzzParse(f *testing.F) {
	f.Add([]byte("name: a\nbudget: {total: 1deai}\ntriggers: [{every: 1m}]\nsteps: [{value: x}]\n"))
	f.Add([]byte("name: s\nbudget: {total: 1}\nservices: [{name: s, listen: '127.0.0.1:1', price: 1, steps: [{read: {file: f}}]}]\n"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := runner.Parse(raw)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("accepted spec fails validation again: %v", err)
		}
	})
}

package runner

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"text/template"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/deai-network/deai/internal/tx"
)

// Spec is a declarative agent: what it may spend (Budget), what it sells
// (Services), when it runs (Triggers), what each run does (Steps) and
// where the result goes (Outputs). It is read from YAML by Load.
type Spec struct {
	Name string `json:"name"`
	// Key names the keystore key the agent signs with (the CLI's --key
	// wins).
	Key string `json:"key,omitempty"`
	// Owner, when set, is the account that funds the agent's channels
	// and transfers through the spend permission it granted the agent key
	// (`deai agent grant`): the ledger enforces the owner's caps too.
	Owner string `json:"owner,omitempty"`
	// State is the directory of the budget, channels, approvals and
	// audit log (default <home>/agents/<name>); relative to the spec file.
	State    string        `json:"state,omitempty"`
	Budget   BudgetSpec    `json:"budget"`
	Channels ChannelSpec   `json:"channels,omitempty"`
	Services []ServiceSpec `json:"services,omitempty"`
	Triggers []TriggerSpec `json:"triggers,omitempty"`
	Steps    []StepSpec    `json:"steps,omitempty"`
	Outputs  []OutputSpec  `json:"outputs,omitempty"`
	// RedeemInterval is how often the vouchers the agent earned are
	// redeemed on chain (default 30s).
	RedeemInterval string `json:"redeem_interval,omitempty"`

	owner    tx.Address
	redeemIv time.Duration
}

// BudgetSpec is the agent's spending policy at the signer (agent.Policy).
type BudgetSpec struct {
	Total     tx.Amount `json:"total"`
	PerPeriod tx.Amount `json:"per_period,omitempty"`
	Period    string    `json:"period,omitempty"` // "1h", "24h", "1d"
	PerCall   tx.Amount `json:"per_call,omitempty"`
	// Allow lists the only counterparties paid (address → cap over the
	// budget's life, 0 for none beyond the other limits); "escrow" names
	// lease deposits.
	Allow   map[string]tx.Amount `json:"allow,omitempty"`
	Expires string               `json:"expires,omitempty"` // RFC 3339
	// ApproveAbove: a payment above it waits for `deai agent approve`
	// signed by OwnerKey (hex ed25519 public key).
	ApproveAbove tx.Amount `json:"approve_above,omitempty"`
	OwnerKey     string    `json:"owner_key,omitempty"`
	// SaveSlack is how much may be reserved between two syncs of the
	// budget file (default 1% of total): a crash can then over-count the
	// spend by at most this, never under-count it; a clean stop saves
	// the exact state. 0 syncs on every payment (about 1 ms each).
	SaveSlack *tx.Amount `json:"save_slack,omitempty"`

	period  time.Duration
	expires time.Time
	allow   map[tx.Address]tx.Amount
	ownerPK []byte
}

// ChannelSpec sets how the agent opens payment channels to the services
// it pays: one per payee, opened on its first payment.
type ChannelSpec struct {
	Deposit     tx.Amount `json:"deposit,omitempty"`      // default 1deai; topped up by as much when spent
	SettleDelay uint64    `json:"settle_delay,omitempty"` // blocks; default the ledger's minimum
	Lanes       int       `json:"lanes,omitempty"`        // concurrent payments per payee (default 8)
}

// ServiceSpec is a paid HTTP service the agent sells: each call runs
// Steps with the request body as .Input and answers with the last step's
// text, behind a 402 paywall at Price per call.
type ServiceSpec struct {
	Name   string    `json:"name"`
	Listen string    `json:"listen"`         // host:port
	Path   string    `json:"path,omitempty"` // default "/"
	Price  tx.Amount `json:"price"`
	// RequireSignature refuses callers that do not sign their requests
	// as agent messages (sender, recipient, method, path, body hash,
	// expiry, nonce; replays refused, idempotency keys honoured); the
	// steps then see the caller's address as .Caller. Calls from other
	// deai agents are always signed.
	RequireSignature bool `json:"require_signature,omitempty"`
	// Register, when set, keeps the service in the on-chain registry
	// under Name (registered or updated at start).
	Register *RegisterSpec `json:"register,omitempty"`
	Steps    []StepSpec    `json:"steps"`
}

// RegisterSpec is the registry record of a service.
type RegisterSpec struct {
	Endpoint     string   `json:"endpoint"` // the URL callers use
	Description  string   `json:"description,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`
	// Schema is a file describing the request and response (e.g. a JSON
	// schema); its sha256 is the record's schema digest.
	Schema string `json:"schema"`
	// Blocks is the record's lifetime (default 100000 blocks).
	Blocks uint64 `json:"blocks,omitempty"`
}

// TriggerSpec starts runs: every Every, or on each POST to HTTP.
type TriggerSpec struct {
	Every string       `json:"every,omitempty"`
	HTTP  *HTTPTrigger `json:"http,omitempty"`

	every time.Duration
}

// HTTPTrigger runs the agent on POST Listen/Path; the body is .Input and
// the answer is the run's result.
type HTTPTrigger struct {
	Listen string `json:"listen"`
	Path   string `json:"path,omitempty"` // default "/run"
}

// StepSpec is one step of a run: exactly one of its kinds is set. Text
// fields are Go templates over .Input (the trigger's or request's body),
// .Steps.<id> (.Text, .JSON, .Paid, .Tx of earlier steps), .Run, .Agent
// and, in a service's steps, .Caller (the payer, or the signed sender).
type StepSpec struct {
	ID       string        `json:"id"`
	Call     *CallStep     `json:"call,omitempty"`
	Model    *ModelStep    `json:"model,omitempty"`
	HTTP     *HTTPStep     `json:"http,omitempty"`
	Read     *ReadStep     `json:"read,omitempty"`
	Value    *string       `json:"value,omitempty"`
	Transfer *TransferStep `json:"transfer,omitempty"`
	Stake    *StakeStep    `json:"stake,omitempty"`
	Lease    *LeaseStep    `json:"lease,omitempty"`
}

// CallStep pays another agent's service per call (402 flow).
type CallStep struct {
	// Service is a registry name: its endpoint, owner (the payee) and
	// price come from the ledger; or URL with Payee.
	Service  string    `json:"service,omitempty"`
	URL      string    `json:"url,omitempty"`
	Payee    string    `json:"payee,omitempty"`
	Method   string    `json:"method,omitempty"` // default POST
	Body     string    `json:"body,omitempty"`
	MaxPrice tx.Amount `json:"max_price,omitempty"` // refuse a 402 above it (default: the registry's price)

	payee tx.Address
}

// ModelStep asks a model through a deai gateway (OpenAI chat
// completions), paid per call with vouchers to the gateway (Payee or the
// registry record of Service), or with an API key from APIKeyEnv.
type ModelStep struct {
	Gateway   string    `json:"gateway,omitempty"` // base URL, e.g. http://127.0.0.1:8080/v1
	Service   string    `json:"service,omitempty"` // or a registry name whose endpoint is the base URL
	Payee     string    `json:"payee,omitempty"`   // the gateway's address, for vouchers
	APIKeyEnv string    `json:"api_key_env,omitempty"`
	Model     string    `json:"model"`
	System    string    `json:"system,omitempty"`
	Prompt    string    `json:"prompt"`
	MaxTokens int64     `json:"max_tokens,omitempty"` // default 64
	Seed      *int64    `json:"seed,omitempty"`
	Temp      *float64  `json:"temperature,omitempty"`
	MaxPrice  tx.Amount `json:"max_price,omitempty"`

	payee tx.Address
}

// HTTPStep fetches a URL without paying.
type HTTPStep struct {
	URL    string `json:"url"`
	Method string `json:"method,omitempty"` // default GET
	Body   string `json:"body,omitempty"`
}

// ReadStep reads a file (relative to the spec file).
type ReadStep struct {
	File string `json:"file"`
}

// TransferStep sends Amount to To (from Owner's account through the spend
// permission when the spec has an owner).
type TransferStep struct {
	To     string    `json:"to"`
	Amount tx.Amount `json:"amount"`

	to tx.Address
}

// StakeStep stakes Amount of the agent's balance on a subnet neuron.
type StakeStep struct {
	Netuid uint16    `json:"netuid"`
	Hotkey string    `json:"hotkey"`
	Amount tx.Amount `json:"amount"`

	hotkey tx.Address
}

// LeaseStep rents compute: an Akash SDL deployment, the cheapest bid
// within MaxPrice per block, a lease and the manifest sent.
type LeaseStep struct {
	SDL      string    `json:"sdl"` // file, relative to the spec file
	Deposit  tx.Amount `json:"deposit"`
	MaxPrice tx.Amount `json:"max_price,omitempty"`
	BidWait  string    `json:"bid_wait,omitempty"` // default 30s

	bidWait time.Duration
}

// OutputSpec sends each successful run's result (Value, default the last
// step's text) to a file (one line appended per run) or an HTTP URL
// (POST).
type OutputSpec struct {
	File  string `json:"file,omitempty"`
	HTTP  string `json:"http,omitempty"`
	Value string `json:"value,omitempty"`
}

// Load reads and checks a spec; dir-relative paths stay as written (the
// runner resolves them against the file's directory). ${VAR} and
// ${VAR:-default} are replaced from the environment first, so that one
// file serves several machines; a variable unset without a default is an
// error.
func Load(path string) (*Spec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load agent spec: %w", err)
	}
	raw, err = ExpandEnv(raw, os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("load agent spec %s: %w", path, err)
	}
	s, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("load agent spec %s: %w", path, err)
	}
	return s, nil
}

var envRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// ExpandEnv replaces ${VAR} and ${VAR:-default} in raw with lookup's
// values.
func ExpandEnv(raw []byte, lookup func(string) (string, bool)) ([]byte, error) {
	var missing []string
	out := envRE.ReplaceAllFunc(raw, func(m []byte) []byte {
		g := envRE.FindSubmatch(m)
		if v, ok := lookup(string(g[1])); ok && v != "" {
			return []byte(v)
		}
		if g[2] != nil {
			return g[3]
		}
		missing = append(missing, string(g[1]))
		return m
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: environment variables not set: %s", ErrSpec, strings.Join(missing, ", "))
	}
	return out, nil
}

// Parse decodes YAML (or JSON) strictly: unknown fields are errors.
func Parse(raw []byte) (*Spec, error) {
	var s Spec
	if err := yaml.UnmarshalStrict(raw, &s); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// ErrSpec is wrapped by every validation error; the message names the
// field path.
var ErrSpec = errors.New("invalid agent spec")

func specErr(field, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrSpec, field, fmt.Sprintf(format, a...))
}

var (
	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	idRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,31}$`)
)

// parseSpan accepts Go durations and whole days ("1d").
func parseSpan(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(d, "%d", &n); err == nil && n > 0 && fmt.Sprint(n) == d {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration such as 30s, 1h or 1d", s)
	}
	return d, nil
}

func checkListen(field, hp string) error {
	if _, port, err := net.SplitHostPort(hp); err != nil || port == "" {
		return specErr(field, "%q is not host:port", hp)
	}
	return nil
}

func checkURL(field, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return specErr(field, "%q is not an http(s) URL", s)
	}
	return nil
}

func checkTemplate(field, s string) error {
	if _, err := template.New(field).Funcs(funcs).Option("missingkey=error").Parse(s); err != nil {
		return specErr(field, "template: %v", err)
	}
	return nil
}

func parseAddr(field, s string) (tx.Address, error) {
	a, err := tx.ParseAddress(s)
	if err != nil {
		return tx.Address{}, specErr(field, "%q is not a deai address", s)
	}
	return a, nil
}

// Validate checks the whole spec and fills its parsed fields; errors name
// the field, e.g. "steps[2].call.service".
func (s *Spec) Validate() error {
	if !nameRE.MatchString(s.Name) {
		return specErr("name", "%q: want 1-64 of a-z 0-9 . _ - starting with a letter or digit", s.Name)
	}
	if s.Owner != "" {
		a, err := parseAddr("owner", s.Owner)
		if err != nil {
			return err
		}
		s.owner = a
	}
	s.redeemIv = 30 * time.Second
	if s.RedeemInterval != "" {
		d, err := parseSpan(s.RedeemInterval)
		if err != nil {
			return specErr("redeem_interval", "%v", err)
		}
		s.redeemIv = d
	}
	if err := s.Budget.validate(); err != nil {
		return err
	}
	if s.Channels.Lanes < 0 || s.Channels.Lanes > 256 {
		return specErr("channels.lanes", "%d: want 0 (default 8) to 256", s.Channels.Lanes)
	}
	if len(s.Triggers) > 0 && len(s.Steps) == 0 {
		return specErr("steps", "triggers need steps to run")
	}
	if len(s.Steps) > 0 && len(s.Triggers) == 0 {
		return specErr("triggers", "steps need a trigger (every: or http:)")
	}
	if len(s.Steps) == 0 && len(s.Services) == 0 {
		return specErr("steps", "an agent needs steps (with triggers) or services")
	}
	names := map[string]bool{}
	for i := range s.Services {
		sv := &s.Services[i]
		f := fmt.Sprintf("services[%d]", i)
		if !nameRE.MatchString(sv.Name) {
			return specErr(f+".name", "%q: want 1-64 of a-z 0-9 . _ -", sv.Name)
		}
		if names[sv.Name] {
			return specErr(f+".name", "%q is named twice", sv.Name)
		}
		names[sv.Name] = true
		if err := checkListen(f+".listen", sv.Listen); err != nil {
			return err
		}
		if sv.Path == "" {
			sv.Path = "/"
		}
		if !strings.HasPrefix(sv.Path, "/") {
			return specErr(f+".path", "%q must start with /", sv.Path)
		}
		if sv.Price.IsZero() {
			return specErr(f+".price", "a paid service needs a price above 0")
		}
		if r := sv.Register; r != nil {
			if err := checkURL(f+".register.endpoint", r.Endpoint); err != nil {
				return err
			}
			if r.Schema == "" {
				return specErr(f+".register.schema", "required: a file describing the request and response (e.g. a JSON schema); its sha256 is the record's schema digest")
			}
		}
		if len(sv.Steps) == 0 {
			return specErr(f+".steps", "a service needs steps that make its answer")
		}
		if err := validateSteps(f+".steps", sv.Steps, true); err != nil {
			return err
		}
	}
	// Services may share a listener (on different paths); a trigger's
	// listener is its own.
	taken := map[string]string{}
	for i, sv := range s.Services {
		if _, ok := taken[sv.Listen]; !ok {
			taken[sv.Listen] = fmt.Sprintf("services[%d]", i)
		}
	}
	for i := range s.Triggers {
		t := &s.Triggers[i]
		f := fmt.Sprintf("triggers[%d]", i)
		switch {
		case (t.Every != "") == (t.HTTP != nil):
			return specErr(f, "set exactly one of every: and http:")
		case t.Every != "":
			d, err := parseSpan(t.Every)
			if err != nil {
				return specErr(f+".every", "%v", err)
			}
			if d < 100*time.Millisecond {
				return specErr(f+".every", "%s: at least 100ms", d)
			}
			t.every = d
		default:
			if err := checkListen(f+".http.listen", t.HTTP.Listen); err != nil {
				return err
			}
			if prev, dup := taken[t.HTTP.Listen]; dup {
				return specErr(f+".http.listen", "%s is also %s's address", t.HTTP.Listen, prev)
			}
			taken[t.HTTP.Listen] = f
			if t.HTTP.Path == "" {
				t.HTTP.Path = "/run"
			}
			if !strings.HasPrefix(t.HTTP.Path, "/") {
				return specErr(f+".http.path", "%q must start with /", t.HTTP.Path)
			}
		}
	}
	if err := validateSteps("steps", s.Steps, false); err != nil {
		return err
	}
	for i, o := range s.Outputs {
		f := fmt.Sprintf("outputs[%d]", i)
		if (o.File != "") == (o.HTTP != "") {
			return specErr(f, "set exactly one of file: and http:")
		}
		if o.HTTP != "" {
			if err := checkURL(f+".http", o.HTTP); err != nil {
				return err
			}
		}
		if o.Value != "" {
			if err := checkTemplate(f+".value", o.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *BudgetSpec) validate() error {
	if b.Total.IsZero() {
		return specErr("budget.total", "required: the most the agent may ever spend, e.g. 5deai")
	}
	if b.Period != "" {
		d, err := parseSpan(b.Period)
		if err != nil {
			return specErr("budget.period", "%v", err)
		}
		b.period = d
	}
	if !b.PerPeriod.IsZero() && b.period == 0 {
		return specErr("budget.period", "per_period needs a period, e.g. 24h")
	}
	if b.Expires != "" {
		t, err := time.Parse(time.RFC3339, b.Expires)
		if err != nil {
			return specErr("budget.expires", "%q is not an RFC 3339 time", b.Expires)
		}
		b.expires = t
	}
	if b.Allow != nil {
		b.allow = map[tx.Address]tx.Amount{}
		for k, v := range b.Allow {
			if k == "escrow" {
				b.allow[tx.Address{}] = v
				continue
			}
			a, err := parseAddr("budget.allow", k)
			if err != nil {
				return err
			}
			b.allow[a] = v
		}
	}
	if b.OwnerKey != "" {
		pk, err := hex.DecodeString(b.OwnerKey)
		if err != nil || len(pk) != 32 {
			return specErr("budget.owner_key", "want the owner's ed25519 public key in hex (64 digits; `deai wallet show` prints it)")
		}
		b.ownerPK = pk
	}
	if !b.ApproveAbove.IsZero() && b.ownerPK == nil {
		return specErr("budget.owner_key", "approve_above needs the owner's public key to check approvals")
	}
	return nil
}

func validateSteps(field string, steps []StepSpec, inService bool) error {
	ids := map[string]bool{}
	for i := range steps {
		st := &steps[i]
		f := fmt.Sprintf("%s[%d]", field, i)
		if st.ID == "" {
			st.ID = fmt.Sprintf("step%d", i+1)
		}
		if !idRE.MatchString(st.ID) {
			return specErr(f+".id", "%q: want a letter or _ then letters, digits or _ (usable as .Steps.%s)", st.ID, st.ID)
		}
		if ids[st.ID] {
			return specErr(f+".id", "%q is used twice", st.ID)
		}
		ids[st.ID] = true
		n := 0
		for _, set := range []bool{st.Call != nil, st.Model != nil, st.HTTP != nil, st.Read != nil, st.Value != nil,
			st.Transfer != nil, st.Stake != nil, st.Lease != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return specErr(f, "set exactly one of call, model, http, read, value, transfer, stake, lease (have %d)", n)
		}
		if err := st.validate(f); err != nil {
			return err
		}
		if inService && (st.Transfer != nil || st.Stake != nil || st.Lease != nil) {
			return specErr(f, "a service's steps may not move funds on chain; do that in the agent's own steps")
		}
	}
	return nil
}

func (st *StepSpec) validate(f string) error {
	switch {
	case st.Call != nil:
		c := st.Call
		switch {
		case (c.Service != "") == (c.URL != ""):
			return specErr(f+".call", "set exactly one of service: and url:")
		case c.URL != "":
			if err := checkURL(f+".call.url", c.URL); err != nil {
				return err
			}
			if c.Payee == "" {
				return specErr(f+".call.payee", "a url: call needs the payee's address (a service: call reads it from the registry)")
			}
			a, err := parseAddr(f+".call.payee", c.Payee)
			if err != nil {
				return err
			}
			c.payee = a
		}
		if c.Method == "" {
			c.Method = "POST"
		}
		return checkTemplate(f+".call.body", c.Body)
	case st.Model != nil:
		m := st.Model
		switch {
		case (m.Gateway != "") == (m.Service != ""):
			return specErr(f+".model", "set exactly one of gateway: and service:")
		case m.Gateway != "":
			if err := checkURL(f+".model.gateway", m.Gateway); err != nil {
				return err
			}
			if m.Payee == "" && m.APIKeyEnv == "" {
				return specErr(f+".model", "say how to pay the gateway: payee: ADDRESS (vouchers) or api_key_env: VAR")
			}
		}
		if m.Payee != "" {
			a, err := parseAddr(f+".model.payee", m.Payee)
			if err != nil {
				return err
			}
			m.payee = a
		}
		if m.Model == "" {
			return specErr(f+".model.model", "required: the model id, as GET /v1/models lists it")
		}
		if m.Prompt == "" {
			return specErr(f+".model.prompt", "required")
		}
		if m.MaxTokens < 0 || m.MaxTokens > 1<<16 {
			return specErr(f+".model.max_tokens", "%d out of range", m.MaxTokens)
		}
		if m.MaxTokens == 0 {
			m.MaxTokens = 64
		}
		if err := checkTemplate(f+".model.prompt", m.Prompt); err != nil {
			return err
		}
		return checkTemplate(f+".model.system", m.System)
	case st.HTTP != nil:
		if err := checkURL(f+".http.url", st.HTTP.URL); err != nil {
			return err
		}
		if st.HTTP.Method == "" {
			st.HTTP.Method = "GET"
		}
		return checkTemplate(f+".http.body", st.HTTP.Body)
	case st.Read != nil:
		if st.Read.File == "" {
			return specErr(f+".read.file", "required")
		}
	case st.Value != nil:
		return checkTemplate(f+".value", *st.Value)
	case st.Transfer != nil:
		a, err := parseAddr(f+".transfer.to", st.Transfer.To)
		if err != nil {
			return err
		}
		st.Transfer.to = a
		if st.Transfer.Amount.IsZero() {
			return specErr(f+".transfer.amount", "must be above 0")
		}
	case st.Stake != nil:
		a, err := parseAddr(f+".stake.hotkey", st.Stake.Hotkey)
		if err != nil {
			return err
		}
		st.Stake.hotkey = a
		if st.Stake.Amount.IsZero() {
			return specErr(f+".stake.amount", "must be above 0")
		}
	case st.Lease != nil:
		l := st.Lease
		if l.SDL == "" {
			return specErr(f+".lease.sdl", "required: an Akash SDL file")
		}
		if l.Deposit.IsZero() {
			return specErr(f+".lease.deposit", "must be above 0")
		}
		l.bidWait = 30 * time.Second
		if l.BidWait != "" {
			d, err := parseSpan(l.BidWait)
			if err != nil {
				return specErr(f+".lease.bid_wait", "%v", err)
			}
			l.bidWait = d
		}
	}
	return nil
}

// funcs are the template functions besides Go's built-ins.
var funcs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"trim": strings.TrimSpace,
	// fail stops the step with msg: a service refuses bad input with it.
	"fail": func(msg string) (string, error) { return "", errors.New(msg) },
	"truncate": func(n int, s string) string {
		if len(s) <= n {
			return s
		}
		return s[:n]
	},
}

// render executes a template string over data.
func render(name, src string, data any) (string, error) {
	if src == "" {
		return "", nil
	}
	t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(src)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return b.String(), nil
}

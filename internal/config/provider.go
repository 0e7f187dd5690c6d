package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/BurntSushi/toml"
)

// Provider is the compute provider's own file (deai provider --config
// provider.toml). Sizes are quantities as in SDL (512Mi, 8Gi); prices are
// udeai per block and may be fractional.
type Provider struct {
	Key             string   `toml:"key"`      // keystore name of the provider account
	HostURI         string   `toml:"host_uri"` // published on chain; tenants reach the API here
	Listen          string   `toml:"listen"`   // API listen address
	Region          string   `toml:"region"`
	Email           string   `toml:"email"`
	Website         string   `toml:"website"`
	Runtime         string   `toml:"runtime"` // auto, docker, exec, kubernetes
	Kubeconfig      string   `toml:"kubeconfig"`
	DockerHost      string   `toml:"docker_host"` // default: DOCKER_HOST or the local socket
	PublishIP       string   `toml:"publish_ip"`  // host IP that workload ports bind to
	StateDir        string   `toml:"state_dir"`   // default <home>/provider
	BidDeposit      uint64   `toml:"bid_deposit"` // udeai held per bid
	BidTimeout      Duration `toml:"bid_timeout"` // close unanswered bids after this
	ManifestTimeout Duration `toml:"manifest_timeout"`
	WithdrawPeriod  Duration `toml:"withdraw_period"`
	UsagePeriod     Duration `toml:"usage_period"`
	PollInterval    Duration `toml:"poll_interval"`
	PricingScript   string   `toml:"pricing_script"` // executable: JSON on stdin, price on stdout
	ScriptTimeout   Duration `toml:"pricing_script_timeout"`
	ExecAllow       []string `toml:"exec_allow"`      // binaries the exec runtime may run (path, glob, dir/ or *)
	DockerInstance  string   `toml:"docker_instance"` // Docker runtime: prefix of container and network names

	Attributes         map[string]string `toml:"attributes"`          // published; GPU capabilities are added from [[nodes]]
	RequiredAttributes map[string]string `toml:"required_attributes"` // bid only on orders asking for these
	Price              ProviderPrice     `toml:"price"`
	UsagePrice         ProviderUsage     `toml:"usage_price"` // offered on usage-billed orders
	Nodes              []ProviderNode    `toml:"nodes"`       // default: this machine, detected
}

// ProviderPrice is the price table (udeai per block).
type ProviderPrice struct {
	CPUCore   float64            `toml:"cpu_core"`
	MemoryGiB float64            `toml:"memory_gib"`
	Endpoint  float64            `toml:"endpoint"`
	Storage   map[string]float64 `toml:"storage"` // per GiB by class
	GPU       map[string]float64 `toml:"gpu"`     // per device by model, "model.ram", or "*"
}

// ProviderUsage are the unit prices a provider bids on usage-billed
// orders: whole udeai per core-second, per GiB-second of memory and per
// GPU-second.
type ProviderUsage struct {
	CPUCoreSecond   uint64 `toml:"cpu_core_second"`
	MemoryGiBSecond uint64 `toml:"memory_gib_second"`
	GPUSecond       uint64 `toml:"gpu_second"`
}

// ProviderNode is one machine's allocatable capacity.
type ProviderNode struct {
	Name    string             `toml:"name"`
	CPU     string             `toml:"cpu"`     // cores: "2", "1.5", "1500m"
	Memory  string             `toml:"memory"`  // "8Gi"
	Storage string             `toml:"storage"` // "100Gi"
	GPUs    []ProviderNodeGPUs `toml:"gpus"`
}

// ProviderNodeGPUs is a set of identical GPUs on a node.
type ProviderNodeGPUs struct {
	Vendor    string `toml:"vendor"`
	Model     string `toml:"model"`
	RAM       string `toml:"ram"`
	Interface string `toml:"interface"`
	Count     int    `toml:"count"`
}

// DefaultProvider is a devnet provider on this machine.
func DefaultProvider() Provider {
	return Provider{
		Key:             "provider",
		HostURI:         "http://127.0.0.1:8443",
		Listen:          "127.0.0.1:8443",
		Region:          "local",
		Runtime:         "auto",
		PublishIP:       "127.0.0.1",
		BidDeposit:      1_000_000,
		BidTimeout:      Duration{5 * time.Minute},
		ManifestTimeout: Duration{5 * time.Minute},
		WithdrawPeriod:  Duration{time.Minute},
		UsagePeriod:     Duration{10 * time.Second},
		PollInterval:    Duration{500 * time.Millisecond},
		ScriptTimeout:   Duration{10 * time.Second},
		UsagePrice:      ProviderUsage{CPUCoreSecond: 1, MemoryGiBSecond: 1, GPUSecond: 50},
	}
}

// LoadProvider reads a provider file over DefaultProvider; unknown keys
// are errors (a typo in a price must not silently fall back to a default).
func LoadProvider(path string) (Provider, error) {
	p := DefaultProvider()
	b, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("provider config: %w", err)
	}
	md, err := toml.Decode(string(b), &p)
	if err != nil {
		return p, fmt.Errorf("provider config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return p, fmt.Errorf("provider config %s: unknown key %q", path, und[0].String())
	}
	return p, p.Validate()
}

// Validate checks the provider file; errors name the key.
func (p Provider) Validate() error {
	if p.Key == "" {
		return errors.New("provider config: key: want the keystore name of the provider account")
	}
	u, err := url.Parse(p.HostURI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("provider config: host_uri %q: want an http(s) URL such as https://provider.example.com:8443", p.HostURI)
	}
	switch p.Runtime {
	case "auto", "docker", "exec", "kubernetes":
	default:
		return fmt.Errorf("provider config: runtime %q: want auto, docker, exec or kubernetes", p.Runtime)
	}
	if p.Runtime == "kubernetes" && p.Kubeconfig == "" {
		return errors.New("provider config: runtime kubernetes needs kubeconfig")
	}
	for name, d := range map[string]Duration{"bid_timeout": p.BidTimeout, "manifest_timeout": p.ManifestTimeout,
		"withdraw_period": p.WithdrawPeriod, "usage_period": p.UsagePeriod, "poll_interval": p.PollInterval, "pricing_script_timeout": p.ScriptTimeout} {
		if d.Duration <= 0 {
			return fmt.Errorf("provider config: %s: want a positive duration", name)
		}
	}
	names := map[string]bool{}
	for i, n := range p.Nodes {
		if n.Name == "" || names[n.Name] {
			return fmt.Errorf("provider config: nodes[%d].name %q: want a unique name", i, n.Name)
		}
		names[n.Name] = true
		for j, g := range n.GPUs {
			if g.Vendor == "" || g.Model == "" || g.Count <= 0 {
				return fmt.Errorf("provider config: nodes[%d].gpus[%d]: want vendor, model and count > 0", i, j)
			}
		}
	}
	return nil
}

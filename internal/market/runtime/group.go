package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market/manifest"
)

// serviceNameRE is an RFC 1035 label: valid as a DNS name, a Kubernetes
// Service name and in Docker container names.
var serviceNameRE = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

var envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// ValidateGroup checks what every runtime needs of a group: services with
// DNS-label names, unique, with an image, valid resources, KEY=value env,
// TCP/UDP ports exposed once, mounts naming existing volumes (ram and
// persistent volumes need one). Errors wrap ErrInvalid and name the
// service. Each runtime adds its own checks (images present, GPUs).
func ValidateGroup(g manifest.Group) error {
	if len(g.Services) == 0 {
		return fmt.Errorf("%w: group %q has no services", ErrInvalid, g.Name)
	}
	seen := map[string]bool{}
	for _, s := range g.Services {
		p := "service " + s.Name
		if !serviceNameRE.MatchString(s.Name) {
			return fmt.Errorf("%w: service name %q: want a DNS label (a-z, 0-9, '-', starting with a letter, at most 63)", ErrInvalid, s.Name)
		}
		if seen[s.Name] {
			return fmt.Errorf("%w: service %q listed twice", ErrInvalid, s.Name)
		}
		seen[s.Name] = true
		if s.Image == "" {
			return fmt.Errorf("%w: %s: no image", ErrInvalid, p)
		}
		if s.Count > lmarket.MaxCount {
			return fmt.Errorf("%w: %s: count %d: want at most %d", ErrInvalid, p, s.Count, lmarket.MaxCount)
		}
		if err := s.Resources.Validate(p); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		for _, e := range s.Env {
			k, _, ok := strings.Cut(e, "=")
			if !ok || !envKeyRE.MatchString(k) {
				return fmt.Errorf("%w: %s: env %q: want KEY=value", ErrInvalid, p, e)
			}
		}
		ports := map[string]bool{}
		for _, x := range s.Expose {
			if x.Port == 0 {
				return fmt.Errorf("%w: %s: expose port 0", ErrInvalid, p)
			}
			proto := protoOf(x)
			if proto != "TCP" && proto != "UDP" {
				return fmt.Errorf("%w: %s: port %d: proto %q: want TCP or UDP", ErrInvalid, p, x.Port, x.Proto)
			}
			k := fmt.Sprint(x.Port, proto)
			if ports[k] {
				return fmt.Errorf("%w: %s: port %d/%s exposed twice", ErrInvalid, p, x.Port, proto)
			}
			ports[k] = true
		}
		if s.Params != nil {
			mounts := map[string]bool{}
			for _, sp := range s.Params.Storage {
				if _, ok := volumeOf(s, sp.Name); !ok {
					return fmt.Errorf("%w: %s: storage params name volume %q, which the resources do not have", ErrInvalid, p, sp.Name)
				}
				if !path.IsAbs(sp.Mount) || path.Clean(sp.Mount) == "/" {
					return fmt.Errorf("%w: %s: volume %q: mount %q: want an absolute path other than /", ErrInvalid, p, sp.Name, sp.Mount)
				}
				if mounts[path.Clean(sp.Mount)] {
					return fmt.Errorf("%w: %s: mount %q used twice", ErrInvalid, p, sp.Mount)
				}
				mounts[path.Clean(sp.Mount)] = true
			}
		}
		for _, v := range s.Resources.Storage {
			if (v.Persistent || v.Class == lmarket.StorageRAM) && mountOf(s, v.Name) == "" {
				return fmt.Errorf("%w: %s: volume %q (class %s) has no mount in params.storage", ErrInvalid, p, v.Name, v.Class)
			}
		}
	}
	for _, s := range g.Services {
		for _, x := range s.Expose {
			for _, to := range x.Services {
				if !seen[to] {
					return fmt.Errorf("%w: service %s: port %d exposed to unknown service %q", ErrInvalid, s.Name, x.Port, to)
				}
			}
		}
	}
	return nil
}

func protoOf(x manifest.Expose) string {
	if x.Proto == "" {
		return "TCP"
	}
	return strings.ToUpper(x.Proto)
}

func externalPort(x manifest.Expose) uint16 {
	if x.ExternalPort == 0 {
		return x.Port
	}
	return x.ExternalPort
}

func volumeOf(s manifest.Service, name string) (lmarket.Volume, bool) {
	for _, v := range s.Resources.Storage {
		if v.Name == name {
			return v, true
		}
	}
	return lmarket.Volume{}, false
}

func mountOf(s manifest.Service, volume string) string {
	if s.Params == nil {
		return ""
	}
	for _, sp := range s.Params.Storage {
		if sp.Name == volume {
			return sp.Mount
		}
	}
	return ""
}

// ramBytes is the size of the service's memory-backed (class ram) volumes,
// which count against its memory limit.
func ramBytes(s manifest.Service) uint64 {
	var n uint64
	for _, v := range s.Resources.Storage {
		if v.Class == lmarket.StorageRAM {
			n += v.SizeBytes
		}
	}
	return n
}

// ephemeralBytes is the size of the service's non-persistent disk volumes:
// the root volume and mounted scratch volumes.
func ephemeralBytes(s manifest.Service) uint64 {
	var n uint64
	for _, v := range s.Resources.Storage {
		if !v.Persistent && v.Class != lmarket.StorageRAM {
			n += v.SizeBytes
		}
	}
	return n
}

// serviceEnv is the manifest's env with DEAI_* entries dropped, then the
// lease's DEAI_* env and extra (runtime-specific, e.g. PORT).
func serviceEnv(s manifest.Service, l LeaseRef, publicHost string, extra ...string) []string {
	var env []string
	for _, e := range s.Env {
		if !strings.HasPrefix(e, "DEAI_") {
			env = append(env, e)
		}
	}
	env = append(env, LeaseEnv(l, s.Name, publicHost)...)
	return append(env, extra...)
}

// specHash is a short digest of v's JSON, used to tell whether a replica
// was created from the same spec.
func specHash(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("runtime: spec hash: %v", err)) // plain structs only
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

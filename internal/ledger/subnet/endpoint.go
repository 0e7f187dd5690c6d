package subnet

import (
	"fmt"
	"strings"
)

// ValidEndpoint checks a miner's serving URL: http:// or https://, a host
// (DNS name, IPv4 address or bracketed IPv6 address), an optional port
// 1..65535 and an optional path; no user info, query or fragment, at most
// MaxEndpointLen bytes. The ledger may not import net, so the grammar is
// checked here by hand (RFC 3986's, restricted to what a miner needs).
func ValidEndpoint(s string) error {
	bad := func(why string) error { return fmt.Errorf("endpoint %q: %s", s, why) }
	if len(s) == 0 || len(s) > MaxEndpointLen {
		return bad(fmt.Sprintf("want 1 to %d bytes", MaxEndpointLen))
	}
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "http://"); !ok {
			return bad("want an http:// or https:// URL")
		}
	}
	authority, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	if strings.ContainsAny(authority, "@?#") || strings.ContainsAny(path, "?#") {
		return bad("user info, query and fragment are not allowed")
	}
	host, port := authority, ""
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return bad("unterminated IPv6 address")
		}
		host, port = authority[1:end], authority[end+1:]
		if !validIPv6(host) {
			return bad("invalid IPv6 address")
		}
		if port != "" && port[0] != ':' {
			return bad("junk after the IPv6 address")
		}
	} else {
		if i := strings.LastIndexByte(authority, ':'); i >= 0 {
			host, port = authority[:i], authority[i:]
		}
		if !validHostname(host) {
			return bad("invalid host name")
		}
	}
	if port != "" {
		if !validPort(port[1:]) {
			return bad("port must be 1..65535")
		}
	}
	if !validPath(path) {
		return bad("path has characters a URL does not allow unescaped")
	}
	return nil
}

// validHostname accepts DNS names and dotted IPv4 addresses: labels of 1
// to 63 letters, digits and '-', not starting or ending with '-', at most
// 253 bytes.
func validHostname(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func validPort(p string) bool {
	if len(p) == 0 || len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n >= 1 && n <= 65535
}

// validIPv6 accepts the RFC 4291 text forms: eight groups of 1 to 4 hex
// digits, one "::" standing for one or more zero groups, and an optional
// dotted IPv4 address as the last 32 bits.
func validIPv6(s string) bool {
	if len(s) < 2 || len(s) > 45 {
		return false
	}
	head, tail, compressed := s, "", false
	if i := strings.Index(s, "::"); i >= 0 {
		head, tail, compressed = s[:i], s[i+2:], true
		if strings.Contains(tail, "::") {
			return false
		}
	}
	groups := 0
	count := func(part string, last bool) bool {
		if part == "" {
			return true
		}
		fields := strings.Split(part, ":")
		for k, f := range fields {
			if last && k == len(fields)-1 && strings.Contains(f, ".") {
				if !validIPv4(f) {
					return false
				}
				groups += 2
				continue
			}
			if len(f) == 0 || len(f) > 4 {
				return false
			}
			for i := 0; i < len(f); i++ {
				c := f[i]
				if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
					return false
				}
			}
			groups++
		}
		return true
	}
	if !count(head, !compressed) || !count(tail, true) {
		return false
	}
	if compressed {
		return groups <= 7
	}
	return groups == 8
}

func validIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if len(p) == 0 || len(p) > 3 || (len(p) > 1 && p[0] == '0') {
			return false
		}
		n := 0
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
			n = n*10 + int(p[i]-'0')
		}
		if n > 255 {
			return false
		}
	}
	return true
}

// validPath accepts "" or "/" followed by RFC 3986 path characters, with
// '%' only as a percent-escape.
func validPath(p string) bool {
	if p == "" {
		return true
	}
	if p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0:
		case c == '%':
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// Command echo is a tiny HTTP server for runtime tests. It listens on
// -listen, else :$PORT, else :8080, prints "echo listening on ADDR" to
// stdout and one line per request to stderr.
//
//	GET  /          "echo message=$ECHO_MESSAGE lease=$DEAI_LEASE_ID service=$DEAI_SERVICE ..."
//	GET  /env/NAME  the value of $NAME
//	GET  /pid       the process id
//	GET  /burn?ms=N burns N ms of CPU time (process CPU, not wall time)
//	GET  /alloc?mib=N allocates and touches N MiB (kept until exit)
//	GET  /fetch?url=U fetches U and answers with its body (reach other services)
//	POST /exit?code=N exits with code N after answering
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

var (
	mu   sync.Mutex
	kept [][]byte
)

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	listen := flag.String("listen", "", "listen address (default :$PORT or :8080)")
	flag.Parse()
	addr := *listen
	if addr == "" {
		port := os.Getenv("PORT")
		if port == "" {
			port = "8080"
		}
		addr = ":" + port
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("echo listening on %s\n", ln.Addr())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		host, _ := os.Hostname()
		fmt.Fprintf(w, "echo message=%s lease=%s service=%s replica=%s hostname=%s\n",
			os.Getenv("ECHO_MESSAGE"), os.Getenv("DEAI_LEASE_ID"), os.Getenv("DEAI_SERVICE"), os.Getenv("DEAI_REPLICA"), host)
	})
	mux.HandleFunc("GET /env/{name}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, os.Getenv(r.PathValue("name")))
	})
	mux.HandleFunc("GET /pid", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, os.Getpid())
	})
	mux.HandleFunc("GET /burn", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		target := cpuTime() + time.Duration(ms)*time.Millisecond
		deadline := time.Now().Add(time.Minute)
		x := 0
		for cpuTime() < target && time.Now().Before(deadline) {
			for i := 0; i < 100000; i++ {
				x += i * i
			}
		}
		fmt.Fprintln(w, "burned", ms, x%2)
	})
	mux.HandleFunc("GET /alloc", func(w http.ResponseWriter, r *http.Request) {
		mib, _ := strconv.Atoi(r.URL.Query().Get("mib"))
		b := make([]byte, mib<<20)
		for i := range b {
			b[i] = byte(i)
		}
		mu.Lock()
		kept = append(kept, b)
		mu.Unlock()
		fmt.Fprintln(w, "allocated", mib)
	})
	mux.HandleFunc("GET /fetch", func(w http.ResponseWriter, r *http.Request) {
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(r.URL.Query().Get("url"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})
	mux.HandleFunc("POST /exit", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		fmt.Fprintln(w, "exiting", code)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		go func() {
			time.Sleep(50 * time.Millisecond)
			fmt.Fprintf(os.Stderr, "echo exiting with code %d\n", code)
			os.Exit(code)
		}()
	})
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(os.Stderr, "echo request %s %s\n", r.Method, r.URL.Path)
		mux.ServeHTTP(w, r)
	})
	if err := http.Serve(ln, logged); err != nil {
		fmt.Fprintf(os.Stderr, "echo: %v\n", err)
		os.Exit(1)
	}
}

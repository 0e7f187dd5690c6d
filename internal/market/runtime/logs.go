package runtime

import (
	"bufio"
	"context"
	"errors"
	"io"
	"sync"
)

// logStream is one replica's output stream.
type logStream struct {
	prefix string // "[web-0] "
	r      io.Reader
}

// mergedLogs interleaves whole lines of several streams into one reader.
type mergedLogs struct {
	pr      *io.PipeReader
	cancel  context.CancelFunc
	closers []io.Closer
	once    sync.Once
}

// mergeLogs starts one goroutine per stream copying prefixed lines into the
// returned reader, which reaches EOF when every stream has. Close (or the
// end of ctx) stops the streams: cancel must end the sources' requests and
// closers are closed to unblock their reads.
func mergeLogs(ctx context.Context, cancel context.CancelFunc, streams []logStream, closers []io.Closer) io.ReadCloser {
	pr, pw := io.Pipe()
	m := &mergedLogs{pr: pr, cancel: cancel, closers: closers}
	var mu sync.Mutex // guards writes to pw so lines do not interleave
	var wg sync.WaitGroup
	for _, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := bufio.NewReaderSize(s.r, 64<<10)
			for {
				line, err := br.ReadString('\n')
				if line != "" {
					if line[len(line)-1] != '\n' {
						line += "\n"
					}
					mu.Lock()
					_, werr := io.WriteString(pw, s.prefix+line)
					mu.Unlock()
					if werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		pw.Close()
		close(done)
	}()
	go func() {
		select {
		case <-ctx.Done():
			m.Close()
		case <-done:
			cancel()
		}
	}()
	return m
}

func (m *mergedLogs) Read(p []byte) (int, error) { return m.pr.Read(p) }

func (m *mergedLogs) Close() error {
	m.once.Do(func() {
		m.cancel()
		for _, c := range m.closers {
			c.Close()
		}
		m.pr.CloseWithError(errLogsClosed)
	})
	return nil
}

var errLogsClosed = errors.New("logs closed")

package runtime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
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

// tailFile reads a log file from an offset and, when following, waits for
// it to grow (and starts over if it was truncated or rotated).
type tailFile struct {
	ctx    context.Context
	path   string
	f      *os.File
	follow bool
	poll   time.Duration
	closed chan struct{}
	once   sync.Once
}

// openTail opens path positioned at its last n lines (all when n <= 0).
// A missing file reads as empty (or, following, as a file yet to appear).
func openTail(ctx context.Context, path string, n int, follow bool, poll time.Duration) (*tailFile, error) {
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	t := &tailFile{ctx: ctx, path: path, follow: follow, poll: poll, closed: make(chan struct{})}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	if n > 0 {
		off, err := tailOffset(f, n)
		if err == nil {
			_, err = f.Seek(off, io.SeekStart)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("tail %s: %w", path, err)
		}
	}
	t.f = f
	return t, nil
}

// tailOffset finds where the last n lines of f start.
func tailOffset(f *os.File, n int) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := fi.Size()
	buf := make([]byte, 32<<10)
	pos := end
	lines := 0
	for pos > 0 {
		sz := min(int64(len(buf)), pos)
		pos -= sz
		if _, err := f.ReadAt(buf[:sz], pos); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := sz - 1; i >= 0; i-- {
			if buf[i] != '\n' || pos+i == end-1 {
				continue
			}
			lines++
			if lines == n {
				return pos + i + 1, nil
			}
		}
	}
	return 0, nil
}

// Read is called from one goroutine only; at EOF it closes the file.
func (t *tailFile) Read(p []byte) (n int, err error) {
	defer func() {
		if errors.Is(err, io.EOF) && t.f != nil {
			t.f.Close()
			t.f = nil
			t.follow = false
		}
	}()
	for {
		if t.f != nil {
			n, err := t.f.Read(p)
			if n > 0 || (err != nil && !errors.Is(err, io.EOF)) {
				return n, err
			}
		}
		if !t.follow {
			return 0, io.EOF
		}
		t.reopenIfReplaced()
		if t.f != nil {
			if n, err := t.f.Read(p); n > 0 || (err != nil && !errors.Is(err, io.EOF)) {
				return n, err
			}
		}
		select {
		case <-t.ctx.Done():
			return 0, io.EOF
		case <-t.closed:
			return 0, io.EOF
		case <-time.After(t.poll):
		}
	}
}

// reopenIfReplaced starts over on a file that was truncated, rotated
// (renamed away and recreated) or has appeared.
func (t *tailFile) reopenIfReplaced() {
	fi, err := os.Stat(t.path)
	if err != nil {
		return
	}
	if t.f != nil {
		cur, err := t.f.Stat()
		if err != nil {
			return
		}
		off, _ := t.f.Seek(0, io.SeekCurrent)
		if os.SameFile(cur, fi) {
			if fi.Size() < off {
				t.f.Seek(0, io.SeekStart)
			}
			return
		}
		t.f.Close()
		t.f = nil
	}
	if f, err := os.Open(t.path); err == nil {
		t.f = f
	}
}

func (t *tailFile) Close() error {
	t.once.Do(func() { close(t.closed) })
	return nil
}

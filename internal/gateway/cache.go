package gateway

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
)

// cached is a stored answer: what the miner sent and its identity.
type cached struct {
	body    []byte
	ctype   string
	miner   string
	digest  string
	receipt string
}

type cacheEntry struct {
	key     [sha256.Size]byte
	val     cached
	expires time.Time
}

// cache is an LRU of deterministic answers bounded by bytes and age.
type cache struct {
	maxBytes int
	ttl      time.Duration
	now      func() time.Time

	mu    sync.Mutex // guards the fields below
	ll    *list.List // front: most recently used
	items map[[sha256.Size]byte]*list.Element
	bytes int
}

func newCache(maxBytes int, ttl time.Duration, now func() time.Time) *cache {
	return &cache{maxBytes: maxBytes, ttl: ttl, now: now, ll: list.New(), items: map[[sha256.Size]byte]*list.Element{}}
}

// cacheKey binds an answer to the model digest, the route and the
// normalized request body.
func cacheKey(digest, path string, normalized []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(digest))
	h.Write([]byte{0})
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write(normalized)
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func (c *cache) get(k [sha256.Size]byte) (cached, bool) {
	if c == nil {
		return cached{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return cached{}, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.removeLocked(el)
		return cached{}, false
	}
	c.ll.MoveToFront(el)
	return e.val, true
}

func (c *cache) put(k [sha256.Size]byte, v cached) {
	if c == nil {
		return
	}
	size := len(v.body) + len(v.receipt) + 256
	if size > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.removeLocked(el)
	}
	c.items[k] = c.ll.PushFront(&cacheEntry{key: k, val: v, expires: c.now().Add(c.ttl)})
	c.bytes += size
	for c.bytes > c.maxBytes {
		c.removeLocked(c.ll.Back())
	}
}

func (c *cache) removeLocked(el *list.Element) {
	e := c.ll.Remove(el).(*cacheEntry)
	delete(c.items, e.key)
	c.bytes -= len(e.val.body) + len(e.val.receipt) + 256
}

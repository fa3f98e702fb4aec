package node

import (
	"container/list"
	"sync"
)

// viewCache keeps recently decrypted plaintexts per (log index, authority), so
// listing, status derivation and feeds decrypt an entry once per authority.
// LRU bounded by entries and by plaintext bytes (a notice can be 1 MiB, so
// the entry bound alone would let large notices pin gigabytes); safe for
// concurrent use. Plaintexts live only in memory.
type viewCache struct {
	mu       sync.Mutex
	max      int
	maxBytes int
	bytes    int
	order    *list.List // front = most recent; values are *viewItem
	items    map[viewKey]*list.Element
}

// viewCacheMaxBytes bounds the plaintext bytes a viewCache holds.
const viewCacheMaxBytes = 128 << 20

type viewKey struct {
	index     uint64
	authority string
}

type viewItem struct {
	key   viewKey
	plain []byte
}

func newViewCache(max int) *viewCache {
	return &viewCache{max: max, maxBytes: viewCacheMaxBytes, order: list.New(), items: map[viewKey]*list.Element{}}
}

// get returns the cached plaintext; callers must not modify it.
func (c *viewCache) get(index uint64, authority string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[viewKey{index, authority}]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*viewItem).plain, true
}

func (c *viewCache) put(index uint64, authority string, plain []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := viewKey{index, authority}
	if el, ok := c.items[k]; ok {
		c.order.MoveToFront(el)
		return
	}
	if len(plain) > c.maxBytes {
		return
	}
	c.items[k] = c.order.PushFront(&viewItem{key: k, plain: plain})
	c.bytes += len(plain)
	for c.order.Len() > c.max || c.bytes > c.maxBytes {
		el := c.order.Back()
		c.order.Remove(el)
		it := el.Value.(*viewItem)
		delete(c.items, it.key)
		c.bytes -= len(it.plain)
	}
}

// forget drops every plaintext of authority (after its key is destroyed).
func (c *viewCache) forget(authority string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, el := range c.items {
		if k.authority == authority {
			c.order.Remove(el)
			delete(c.items, k)
			c.bytes -= len(el.Value.(*viewItem).plain)
		}
	}
}

package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/deai-network/deai/internal/infer/tensor"
)

// Writer produces a GGUF v3 file as a stream: add metadata and tensor
// descriptions, call WriteHeader, then write each tensor's bytes in the order
// the tensors were added (in as many pieces as convenient), then Close.
type Writer struct {
	w         *bufio.Writer
	alignment uint64
	kvs       []KV
	tensors   []TensorInfo
	names     map[string]bool
	dataSize  uint64

	headerDone bool
	cur        int    // index of the tensor being written
	curDone    uint64 // bytes of it written so far
	written    uint64 // bytes written so far in total
	err        error
}

// NewWriter returns a Writer that writes to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 1<<16), alignment: DefaultAlignment, names: map[string]bool{}}
}

// AddKV adds a metadata entry. value must be one of the Go types listed on
// KV, a slice of one of the scalar types or of string, or an Array. Setting
// general.alignment (uint32, a power of two) changes the alignment.
func (w *Writer) AddKV(key string, value any) error {
	if w.headerDone {
		return fmt.Errorf("gguf writer: AddKV after WriteHeader")
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("gguf writer: key of %d bytes", len(key))
	}
	v, err := normalize(value)
	if err != nil {
		return fmt.Errorf("gguf writer: key %q: %w", key, err)
	}
	if key == "general.alignment" {
		a, ok := v.(uint32)
		if !ok || a == 0 || a&(a-1) != 0 {
			return fmt.Errorf("gguf writer: general.alignment must be a power-of-two uint32")
		}
		w.alignment = uint64(a)
	}
	w.kvs = append(w.kvs, KV{Key: key, Value: v})
	return nil
}

// normalize turns plain slices into Arrays and checks the type.
func normalize(value any) (any, error) {
	switch v := value.(type) {
	case uint8, int8, uint16, int16, uint32, int32, float32, bool, string, uint64, int64, float64:
		return v, nil
	case Array:
		if _, ok := v.Type.minSize(); !ok {
			return nil, fmt.Errorf("array of unknown type %d", v.Type)
		}
		return v, nil
	case []uint8:
		return Array{TypeUint8, v}, nil
	case []int8:
		return Array{TypeInt8, v}, nil
	case []uint16:
		return Array{TypeUint16, v}, nil
	case []int16:
		return Array{TypeInt16, v}, nil
	case []uint32:
		return Array{TypeUint32, v}, nil
	case []int32:
		return Array{TypeInt32, v}, nil
	case []float32:
		return Array{TypeFloat32, v}, nil
	case []bool:
		return Array{TypeBool, v}, nil
	case []string:
		return Array{TypeString, v}, nil
	case []uint64:
		return Array{TypeUint64, v}, nil
	case []int64:
		return Array{TypeInt64, v}, nil
	case []float64:
		return Array{TypeFloat64, v}, nil
	case []Array:
		return Array{TypeArray, v}, nil
	}
	return nil, fmt.Errorf("unsupported value type %T", value)
}

// AddTensor adds a tensor description; dims[0] is the row length.
func (w *Writer) AddTensor(name string, typ tensor.Type, dims ...uint64) error {
	if w.headerDone {
		return fmt.Errorf("gguf writer: AddTensor after WriteHeader")
	}
	if len(name) > MaxNameLen || w.names[name] {
		return fmt.Errorf("gguf writer: bad or duplicate tensor name %q", name)
	}
	if len(dims) == 0 || len(dims) > MaxDims {
		return fmt.Errorf("gguf writer: tensor %q has %d dims", name, len(dims))
	}
	n := uint64(1)
	for _, d := range dims {
		if d == 0 {
			return fmt.Errorf("gguf writer: tensor %q has a zero dimension", name)
		}
		n *= d
	}
	if !typ.Known() || dims[0]%uint64(typ.BlockSize()) != 0 {
		return fmt.Errorf("gguf writer: tensor %q: type %s with row %d", name, typ, dims[0])
	}
	size := n / uint64(typ.BlockSize()) * uint64(typ.BlockBytes())
	w.names[name] = true
	w.tensors = append(w.tensors, TensorInfo{Name: name, Dims: append([]uint64(nil), dims...), Type: typ, Offset: w.dataSize, Size: size})
	w.dataSize = align(w.dataSize+size, w.alignment)
	return nil
}

func (w *Writer) put(p []byte) {
	if w.err != nil {
		return
	}
	_, w.err = w.w.Write(p)
	w.written += uint64(len(p))
}

func (w *Writer) u32(v uint32) { w.put(binary.LittleEndian.AppendUint32(nil, v)) }
func (w *Writer) u64(v uint64) { w.put(binary.LittleEndian.AppendUint64(nil, v)) }
func (w *Writer) str(s string) { w.u64(uint64(len(s))); w.put([]byte(s)) }

func typeOf(v any) ValueType {
	switch v.(type) {
	case uint8:
		return TypeUint8
	case int8:
		return TypeInt8
	case uint16:
		return TypeUint16
	case int16:
		return TypeInt16
	case uint32:
		return TypeUint32
	case int32:
		return TypeInt32
	case float32:
		return TypeFloat32
	case bool:
		return TypeBool
	case string:
		return TypeString
	case uint64:
		return TypeUint64
	case int64:
		return TypeInt64
	case float64:
		return TypeFloat64
	}
	return TypeArray
}

func (w *Writer) value(v any) {
	var b [8]byte
	switch x := v.(type) {
	case uint8:
		w.put([]byte{x})
	case int8:
		w.put([]byte{byte(x)})
	case uint16:
		binary.LittleEndian.PutUint16(b[:], x)
		w.put(b[:2])
	case int16:
		binary.LittleEndian.PutUint16(b[:], uint16(x))
		w.put(b[:2])
	case uint32:
		w.u32(x)
	case int32:
		w.u32(uint32(x))
	case float32:
		w.u32(math.Float32bits(x))
	case bool:
		if x {
			w.put([]byte{1})
		} else {
			w.put([]byte{0})
		}
	case string:
		w.str(x)
	case uint64:
		w.u64(x)
	case int64:
		w.u64(uint64(x))
	case float64:
		w.u64(math.Float64bits(x))
	case Array:
		w.u32(uint32(x.Type))
		w.u64(uint64(x.Len()))
		switch s := x.Values.(type) {
		case []uint8:
			w.put(s)
		case []int8:
			for _, e := range s {
				w.value(e)
			}
		case []uint16:
			for _, e := range s {
				w.value(e)
			}
		case []int16:
			for _, e := range s {
				w.value(e)
			}
		case []uint32:
			for _, e := range s {
				w.value(e)
			}
		case []int32:
			for _, e := range s {
				w.value(e)
			}
		case []float32:
			for _, e := range s {
				w.value(e)
			}
		case []bool:
			for _, e := range s {
				w.value(e)
			}
		case []string:
			for _, e := range s {
				w.value(e)
			}
		case []uint64:
			for _, e := range s {
				w.value(e)
			}
		case []int64:
			for _, e := range s {
				w.value(e)
			}
		case []float64:
			for _, e := range s {
				w.value(e)
			}
		case []Array:
			for _, e := range s {
				w.value(e)
			}
		default:
			if w.err == nil {
				w.err = fmt.Errorf("gguf writer: array values of type %T", x.Values)
			}
		}
	}
}

// WriteHeader writes the header, metadata, tensor descriptions and padding.
func (w *Writer) WriteHeader() error {
	if w.headerDone {
		return fmt.Errorf("gguf writer: WriteHeader twice")
	}
	w.headerDone = true
	w.u32(Magic)
	w.u32(3)
	w.u64(uint64(len(w.tensors)))
	w.u64(uint64(len(w.kvs)))
	for _, kv := range w.kvs {
		w.str(kv.Key)
		w.u32(uint32(typeOf(kv.Value)))
		w.value(kv.Value)
	}
	for _, t := range w.tensors {
		w.str(t.Name)
		w.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			w.u64(d)
		}
		w.u32(uint32(t.Type))
		w.u64(t.Offset)
	}
	w.pad()
	w.skipEmpty()
	return w.err
}

func (w *Writer) pad() {
	if n := align(w.written, w.alignment) - w.written; n > 0 {
		w.put(make([]byte, n))
	}
}

func (w *Writer) skipEmpty() {
	for w.cur < len(w.tensors) && w.tensors[w.cur].Size == 0 {
		w.cur++
	}
}

// WriteTensorData writes the next bytes of tensor data. A piece may not span
// two tensors; padding is written when a tensor is complete.
func (w *Writer) WriteTensorData(p []byte) error {
	if !w.headerDone {
		return fmt.Errorf("gguf writer: tensor data before WriteHeader")
	}
	if w.err != nil {
		return w.err
	}
	if w.cur >= len(w.tensors) {
		return fmt.Errorf("gguf writer: more tensor data than described")
	}
	t := &w.tensors[w.cur]
	if uint64(len(p)) > t.Size-w.curDone {
		return fmt.Errorf("gguf writer: %d bytes overflow tensor %q (%d of %d written)", len(p), t.Name, w.curDone, t.Size)
	}
	w.put(p)
	w.curDone += uint64(len(p))
	if w.curDone == t.Size {
		w.pad()
		w.cur++
		w.curDone = 0
	}
	return w.err
}

// Close checks that all tensor data was written and flushes. It does not
// close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if !w.headerDone {
		if err := w.WriteHeader(); err != nil {
			return err
		}
	}
	if w.cur < len(w.tensors) {
		return fmt.Errorf("gguf writer: tensor %q incomplete", w.tensors[w.cur].Name)
	}
	return w.w.Flush()
}

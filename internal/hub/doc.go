// Package hub downloads model files: from Hugging Face by repository and file
// name, or from any URL. Downloads resume from a partial ".part" file with an
// HTTP Range request, are checked against a sha256 digest (given, or taken
// from the X-Linked-Etag/ETag header Hugging Face sends for LFS files), and
// appear under their final name only when complete and verified. It depends
// only on the standard library and internal/errs; it knows nothing about the
// GGUF format or the engine.
package hub

package hub_test

import (
	"context"
	"fmt"
	"os"

	"github.com/deai-network/deai/internal/hub"
)

// Pulling a file from Hugging Face with a progress bar on stderr. (Not run:
// there is no network in tests; see TestPullFromHub for a local server.)
func ExampleClient_Pull() {
	bar := hub.NewBar(os.Stderr, false, nil)
	c := hub.New(hub.Options{Progress: bar.Update, Token: os.Getenv("HF_TOKEN")})
	res, err := c.Pull(context.Background(), hub.Request{Repo: "ggml-org/models", File: "tinyllamas/stories260K.gguf", Dir: "models"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Path, res.SHA256, res.Verified)
}

package wallet_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/deai-network/deai/internal/wallet"
)

func Example() {
	home, err := os.MkdirTemp("", "deai-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(home)

	// Cheap KDF parameters keep the example fast; omit WithKDF in real code.
	ks, err := wallet.Open(filepath.Join(home, "keys"), wallet.WithKDF(wallet.KDF{Name: wallet.KDFScrypt, N: 16, R: 1, P: 1}))
	if err != nil {
		log.Fatal(err)
	}
	dev, err := wallet.FromSeed(make([]byte, 32)) // deterministic: dev accounts and tests only
	if err != nil {
		log.Fatal(err)
	}
	if err := ks.Add("dev", dev, []byte("passphrase")); err != nil {
		log.Fatal(err)
	}
	k, err := ks.Load("dev", []byte("passphrase"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(k.Address() == dev.Address())
	fmt.Println(k) // printing a key shows only its address
	// Output:
	// true
	// wallet.Key{deai1zw0rjs8xfd2fzu3q3rv6p46pv28usfhqkwxq9p}
}

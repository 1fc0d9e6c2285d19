package app

import (
	"errors"
	"flag"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/org/image-pipeline/internal/config"
)

func flagParse() { flag.Parse() }

func configInputs() []config.Input { return config.Inputs }

func asTransportError(err error, target **transport.Error) bool { return errors.As(err, target) }

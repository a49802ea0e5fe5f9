package main

import (
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/promslog/flag"
)

// registerLog defines --log.level and --log.format as promslog's flag
// package does (names, help, defaults), on the command that logs: the
// package's own AddFlags defines them on a whole application, diagnose
// included, which does not log.
func registerLog(s flagSet, config *promslog.Config) {
	config.Level = promslog.NewLevel()
	s.Flag(flag.LevelFlagName, flag.LevelFlagHelp).Default("info").
		HintOptions(promslog.LevelFlagOptions...).SetValue(config.Level)
	config.Format = promslog.NewFormat()
	s.Flag(flag.FormatFlagName, flag.FormatFlagHelp).Default("logfmt").
		HintOptions(promslog.FormatFlagOptions...).SetValue(config.Format)
}

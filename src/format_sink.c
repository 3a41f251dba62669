// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <string.h>
#include "format_sink.h"

int format_sink__open(struct format_sink *fs, enum negotiate_format fmt, struct strbuf *out,
		      const struct nhist_params *params, bool om_created)
{
	memset(fs, 0, sizeof(*fs));
	fs->fmt = fmt;
	switch (fmt) {
	case FMT_OPENMETRICS_1_0_0:
	case FMT_OPENMETRICS_0_0_1:
		fs->sink = om_sink__init(&fs->om, out, om_created);
		return 0;
	case FMT_PROTOBUF_DELIMITED:
		return pb_sink__init(&fs->pb, out, params, &fs->sink);
	default:
		fs->fmt = FMT_TEXT_0_0_4;
		fs->sink = text_sink__init(&fs->text, out);
		return 0;
	}
}

int format_sink__close(struct format_sink *fs, int err)
{
	switch (fs->fmt) {
	case FMT_OPENMETRICS_1_0_0:
	case FMT_OPENMETRICS_0_0_1:
		if (!err)
			err = om_sink__finish(&fs->om);
		om_sink__free(&fs->om);
		break;
	case FMT_PROTOBUF_DELIMITED:
		if (!err)
			err = fs->pb.pb ? pb_sink__finish(&fs->pb) : -ENOMEM;
		pb_sink__free(&fs->pb);
		break;
	default:
		text_sink__free(&fs->text);
		break;
	}
	return err;
}

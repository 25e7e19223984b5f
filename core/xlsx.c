/*
 * core/xlsx.c — XLSX files of reports and ledgers, through libxlsxwriter.
 *
 * For: one workbook per reply, written to a temporary file under /tmp
 * (libxlsxwriter writes the zip at close), then streamed to the client
 * with the host's streaming API and removed.  A table gets a bold, frozen
 * header row (and optionally frozen leading columns, e.g. region names),
 * numbers as numbers and text as text; a table longer than a sheet
 * (1,048,576 rows) continues on a further sheet with the header repeated.
 * Ledgers use libxlsxwriter's constant-memory mode, so a district's
 * population ledger does not sit in memory.
 *
 * Not for: deciding what goes in a table (reports.c and ledgers.c), the
 * reply headers (reports.c's sink sets Content-Type and the file name), or
 * CSV (reports.c).
 *
 * Ownership: an ogc_xlsx owns its workbook and temp file; ogc_xlsx_finish
 * and ogc_xlsx_free release both (the file is unlinked before it is
 * streamed, so a crash mid-stream leaves nothing behind).  Header strings
 * are borrowed for the life of the ogc_xlsx.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "core.h"

#define SHEET_NAME_MAX 31   /* characters Excel allows */
#define CELL_TEXT_MAX 32767 /* characters in one Excel cell */
#define STREAM_CHUNK 65536

struct ogc_xlsx {
	char path[64];
	int fd; /* the temp file, open until streamed */
	lxw_workbook *wb;
	lxw_worksheet *ws;
	lxw_format *head;
	const char *const *headers; /* borrowed */
	size_t ncols;
	int freeze_cols;
	char sheet[128]; /* base sheet name (UTF-8, at most SHEET_NAME_MAX characters) */
	int nsheets;
	lxw_row_t row; /* next row of the current sheet */
};

/* Excel refuses []:*?/\ in sheet names and more than 31 characters. */
static void sheet_name(const char *in, char *out, size_t outlen, size_t max_chars)
{
	size_t o = 0, chars = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p != '\0';) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : 4;

		if (chars == max_chars || o + n + 1 > outlen)
			break;
		if (n == 1 && strchr("[]:*?/\\", *p) != NULL) {
			out[o++] = '_';
		} else {
			for (size_t k = 0; k < n && p[k] != '\0'; k++)
				out[o++] = (char)p[k];
		}
		p += n;
		chars++;
	}
	out[o] = '\0';
	if (o == 0)
		snprintf(out, outlen, "Sheet");
}

/* Width in Excel's units for a header: CJK characters count double. */
static double width_of(const char *s)
{
	double w = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x80)
			w += 1;
		else if ((*p & 0xC0) != 0x80)
			w += 2;
	}
	return w < 10 ? 10 : w > 60 ? 60 : w + 2;
}

/* Opens the next sheet with the header row. */
static int add_sheet(ogc_xlsx *x)
{
	char name[160];

	if (x->nsheets == 0) {
		snprintf(name, sizeof(name), "%s", x->sheet);
	} else {
		char base[128];

		sheet_name(x->sheet, base, sizeof(base), SHEET_NAME_MAX - 4);
		snprintf(name, sizeof(name), "%s(%d)", base, x->nsheets + 1);
	}
	x->ws = workbook_add_worksheet(x->wb, name);
	if (x->ws == NULL) {
		ogc_log(OG_LOG_ERROR, "xlsx: cannot add sheet %s", name);
		return -1;
	}
	x->nsheets++;
	for (size_t c = 0; c < x->ncols; c++) {
		/* Frozen leading columns hold names (regions): wider. */
		double wid = width_of(x->headers[c]);

		if ((int)c < x->freeze_cols && wid < 24)
			wid = 24;
		worksheet_set_column(x->ws, (lxw_col_t)c, (lxw_col_t)c, wid, NULL);
		if (worksheet_write_string(x->ws, 0, (lxw_col_t)c, x->headers[c], x->head) !=
		    LXW_NO_ERROR) {
			ogc_log(OG_LOG_ERROR, "xlsx: cannot write the header of sheet %s", name);
			return -1;
		}
	}
	worksheet_freeze_panes(x->ws, 1, (lxw_col_t)x->freeze_cols);
	x->row = 1;
	return 0;
}

ogc_xlsx *ogc_xlsx_new(const char *sheet, const char *const *headers, size_t ncols, int freeze_cols,
                       bool big)
{
	lxw_workbook_options opts = {.constant_memory = big ? LXW_TRUE : LXW_FALSE,
	                             .tmpdir = NULL,
	                             .use_zip64 = LXW_TRUE};
	ogc_xlsx *x;

	if (ncols == 0 || ncols > LXW_COL_MAX)
		return NULL;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->fd = -1;
	snprintf(x->path, sizeof(x->path), "/tmp/onegrid-xlsx-XXXXXX");
	x->fd = mkstemp(x->path);
	if (x->fd < 0) {
		ogc_log(OG_LOG_ERROR, "xlsx: cannot create a temp file in /tmp: %s",
		        strerror(errno));
		free(x);
		return NULL;
	}
	x->headers = headers;
	x->ncols = ncols;
	x->freeze_cols = freeze_cols;
	sheet_name(sheet != NULL ? sheet : "Sheet", x->sheet, sizeof(x->sheet), SHEET_NAME_MAX);
	x->wb = workbook_new_opt(x->path, &opts);
	if (x->wb == NULL) {
		ogc_log(OG_LOG_ERROR, "xlsx: cannot start a workbook in %s", x->path);
		ogc_xlsx_free(x);
		return NULL;
	}
	x->head = workbook_add_format(x->wb);
	if (x->head != NULL)
		format_set_bold(x->head);
	if (add_sheet(x) != 0) {
		ogc_xlsx_free(x);
		return NULL;
	}
	return x;
}

/* Text cut to what a cell holds, on a UTF-8 character boundary. */
static lxw_error write_text(ogc_xlsx *x, lxw_col_t col, const char *s)
{
	size_t n = strlen(s);
	lxw_error rc;
	char *cut;

	if (n <= CELL_TEXT_MAX)
		return worksheet_write_string(x->ws, x->row, col, s, NULL);
	n = CELL_TEXT_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	cut = strndup(s, n);
	if (cut == NULL)
		return LXW_ERROR_MEMORY_MALLOC_FAILED;
	rc = worksheet_write_string(x->ws, x->row, col, cut, NULL);
	free(cut);
	return rc;
}

int ogc_xlsx_row(ogc_xlsx *x, const ogc_cell *cells)
{
	if (x->row >= LXW_ROW_MAX && add_sheet(x) != 0)
		return -1;
	for (size_t c = 0; c < x->ncols; c++) {
		lxw_error rc = LXW_NO_ERROR;

		if (cells[c].kind == OGC_CELL_NUMBER && cells[c].text != NULL)
			rc = worksheet_write_number(x->ws, x->row, (lxw_col_t)c,
			                            strtod(cells[c].text, NULL), NULL);
		else if (cells[c].kind == OGC_CELL_TEXT && cells[c].text != NULL &&
		         cells[c].text[0] != '\0')
			rc = write_text(x, (lxw_col_t)c, cells[c].text);
		if (rc != LXW_NO_ERROR) {
			ogc_log(OG_LOG_ERROR, "xlsx: row %lu column %zu: %s", (unsigned long)x->row,
			        c, lxw_strerror(rc));
			return -1;
		}
	}
	x->row++;
	return 0;
}

int ogc_xlsx_finish(ogc_xlsx *x, og_req *req)
{
	char *buf = NULL;
	lxw_error rc;
	ssize_t n;
	int ret = 0;

	rc = workbook_close(x->wb); /* writes the zip into x->path and frees the workbook */
	x->wb = NULL;
	if (rc != LXW_NO_ERROR) {
		ogc_log(OG_LOG_ERROR, "xlsx: cannot write the workbook: %s", lxw_strerror(rc));
		ogc_xlsx_free(x);
		return -1;
	}
	/* libxlsxwriter rewrote the file through its name: our descriptor
	 * sees the same inode.  Unlink now; the open descriptor keeps it. */
	unlink(x->path);
	x->path[0] = '\0';
	buf = malloc(STREAM_CHUNK);
	if (buf == NULL || lseek(x->fd, 0, SEEK_SET) != 0) {
		ogc_log(OG_LOG_ERROR, "xlsx: cannot read the workbook back");
		ret = -1;
	}
	while (ret == 0 && (n = read(x->fd, buf, STREAM_CHUNK)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ogc_log(OG_LOG_ERROR, "xlsx: reading the workbook: %s", strerror(errno));
			ret = -1;
		} else if (ogc_req_stream_write(req, buf, (size_t)n) != 0) {
			ret = -1; /* the client went away: nothing to log twice */
		}
	}
	free(buf);
	ogc_xlsx_free(x);
	return ret;
}

void ogc_xlsx_free(ogc_xlsx *x)
{
	if (x == NULL)
		return;
	if (x->wb != NULL)
		lxw_workbook_free(x->wb); /* discards it: nothing is written */
	if (x->fd >= 0)
		close(x->fd);
	if (x->path[0] != '\0')
		unlink(x->path);
	free(x);
}

/*
 * clamav_types: the file type names libclamav reports (CL_TYPE_MSEXE,
 * CL_TYPE_ELF, ...), as the table of Debian's libclamav 1.0 and 1.4
 * (libclamav's own ftmap plus the types newer releases add). The
 * configuration checks banned_types against it; the inventory stores a
 * file's type as an index into it.
 *
 * Public: clamav_type_index(), clamav_type_name(). Pure, thread-safe.
 */
#ifndef LMTPSCAN_CLAMAV_TYPES_H
#define LMTPSCAN_CLAMAV_TYPES_H

#define CLAMAV_TYPE_UNKNOWN (-1)

/* The index of a type name (exact, upper case), or CLAMAV_TYPE_UNKNOWN. */
int clamav_type_index(const char *name);
/* The name of an index; "" for CLAMAV_TYPE_UNKNOWN or out of range. */
const char *clamav_type_name(int index);

#endif

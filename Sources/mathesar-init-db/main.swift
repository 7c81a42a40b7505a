import Glibc
import MathesarDB
import MathesarInit

// It holds the database password (and, for a schema upgrade, connections as the superuser).
PrivilegeDrop.keepMemoryPrivate()
exit(HelperMain.main(CommandLine.arguments))

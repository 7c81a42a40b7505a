import Glibc
import MathesarDB

exit(HelperMain.main(CommandLine.arguments))

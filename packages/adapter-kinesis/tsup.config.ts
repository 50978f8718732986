import { libraryConfig } from "@netmesh/tsup-config";

export default libraryConfig();

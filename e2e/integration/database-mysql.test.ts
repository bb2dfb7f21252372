// Provisioning on a real MariaDB through the mysql engine (127.0.0.1:13306, or FLOTILLA_MYSQL_URL).
import { describeProvisioning } from '../databases/scenarios.ts';

describeProvisioning('mysql');

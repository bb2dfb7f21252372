// Provisioning on a real PostgreSQL (the private one on 127.0.0.1:15432, or FLOTILLA_POSTGRES_URL).
import { describeProvisioning } from '../databases/scenarios.ts';

describeProvisioning('postgres');

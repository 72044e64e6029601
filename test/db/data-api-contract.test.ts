/**
 * DataApiDriver against the one driver contract, through @aws-sdk/client-rds-data and the local Data API endpoint,
 * on every test backend.
 */
import { backends, openTestDatabase } from '../support/databases.js';
import { startDataApi } from '../support/data-api.js';
import { describeDriverContract } from '../support/driver-contract.js';

for (const backend of backends) {
  describeDriverContract(
    `DataApiDriver via the local Data API on ${backend}`,
    async () => {
      const database = await openTestDatabase(backend);
      const dataApi = await startDataApi(database);
      return {
        driver: dataApi.driver,
        async dispose() {
          await dataApi.close();
          await database.dispose();
        },
      };
    },
    // The Data API's error message carries Hint and Position but not Postgres's DETAIL.
    { reportsErrorDetail: false },
  );
}

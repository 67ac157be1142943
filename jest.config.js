// LWC unit tests (npm run test:unit). sfdx-lwc-jest's stubs lack getListRecordsByName, so
// lightning/uiListsApi maps to our own test wire adapter.
const { jestConfig } = require('@salesforce/sfdx-lwc-jest/config');

module.exports = {
    ...jestConfig,
    moduleNameMapper: {
        '^lightning/uiListsApi$': '<rootDir>/force-app/test/jest-mocks/lightning/uiListsApi'
    },
    modulePathIgnorePatterns: ['<rootDir>/.tools/', '<rootDir>/build/']
};

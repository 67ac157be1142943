// Jest stand-in for lightning/uiListsApi with a test wire adapter (emit/error) for
// getListRecordsByName; never deployed (see .forceignore).
import { createLdsTestWireAdapter } from '@salesforce/wire-service-jest-util';

export const getListInfoByName = jest.fn();
export const getListInfosByName = jest.fn();
export const getListRecordsByName = createLdsTestWireAdapter(jest.fn());

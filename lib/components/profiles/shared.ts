/** Value of `app.kubernetes.io/component` on every object of the profiles component. */
export const PROFILES_COMPONENT = 'profiles';

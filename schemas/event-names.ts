/**
 * The event vocabulary shared by the simulator, the default stage rules and the alert monitors.
 * Names follow Segment's e-commerce and B2B SaaS specs where one exists, so real SDK traffic matches.
 * Properties that carry meaning: `rating` (1-5) on Product Reviewed, `score` (0-10) on NPS Submitted,
 * `referrerId` (the advocate's userId) on Referral Accepted, `revenue` on Order Completed.
 */
export const EVENTS = {
  // awareness
  adClicked: 'Ad Clicked',
  emailLinkClicked: 'Email Link Clicked',
  socialPostClicked: 'Social Post Clicked',
  // consideration
  productsSearched: 'Products Searched',
  productViewed: 'Product Viewed',
  productsCompared: 'Products Compared',
  productAdded: 'Product Added',
  checkoutStarted: 'Checkout Started',
  demoRequested: 'Demo Requested',
  trialStarted: 'Trial Started',
  // purchase
  orderCompleted: 'Order Completed',
  contractSigned: 'Contract Signed',
  // retention
  subscriptionRenewed: 'Subscription Renewed',
  featureUsed: 'Feature Used',
  supportTicketOpened: 'Support Ticket Opened',
  supportTicketResolved: 'Support Ticket Resolved',
  // advocacy
  productReviewed: 'Product Reviewed',
  npsSubmitted: 'NPS Submitted',
  referralSent: 'Referral Sent',
  referralAccepted: 'Referral Accepted',
  productShared: 'Product Shared',
  // churn signals
  paymentFailed: 'Payment Failed',
  cancellationPageViewed: 'Cancellation Page Viewed',
  subscriptionCancelled: 'Subscription Cancelled',
  // offline
  storeVisited: 'Store Visited',
  callCenterContacted: 'Call Center Contacted',
  surveyAnswered: 'Survey Answered',
} as const;
export type EventName = (typeof EVENTS)[keyof typeof EVENTS];

/** Page paths with journey meaning (page calls carry the path in `properties.path`). */
export const PAGE_PATHS = {
  home: '/',
  blog: '/blog',
  pricing: '/pricing',
  product: '/products',
  cart: '/cart',
  checkout: '/checkout',
  cancel: '/account/cancel',
} as const;

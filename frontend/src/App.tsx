import { lazy } from 'react';
import { Link, Route, Routes } from 'react-router-dom';
import { RequireAuth } from './auth';
import { Layout } from './components/Layout';
import { EmptyState } from './components/ui';
import { LoginPage, RegisterPage } from './pages/AuthPages';
import DashboardPage from './pages/DashboardPage';
import { usePageTitle } from './lib/pageTitle';

function NotFound() {
  usePageTitle('Page not found');
  return (
    <EmptyState title="Page not found" action={<Link to="/">Go to the dashboard</Link>}>
      Nothing lives at this address.
    </EmptyState>
  );
}

const StockPage = lazy(() => import('./pages/StockPage'));
const PlansPage = lazy(() => import('./pages/PlansPage'));
const PerformancePage = lazy(() => import('./pages/PerformancePage'));
const AccountPage = lazy(() => import('./pages/AccountPage'));
const AdminPage = lazy(() => import('./pages/AdminPage'));
const VerifyEmailPage = lazy(() => import('./pages/EmailPages').then((m) => ({ default: m.VerifyEmailPage })));
const ForgotPasswordPage = lazy(() => import('./pages/EmailPages').then((m) => ({ default: m.ForgotPasswordPage })));
const ResetPasswordPage = lazy(() => import('./pages/EmailPages').then((m) => ({ default: m.ResetPasswordPage })));

export function App() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route path="/login" element={<LoginPage />} />
        <Route path="/register" element={<RegisterPage />} />
        <Route path="/verify-email" element={<VerifyEmailPage />} />
        <Route path="/forgot-password" element={<ForgotPasswordPage />} />
        <Route path="/reset-password" element={<ResetPasswordPage />} />
        <Route path="/" element={<RequireAuth><DashboardPage /></RequireAuth>} />
        <Route path="/stocks/:symbol" element={<RequireAuth><StockPage /></RequireAuth>} />
        <Route path="/plans" element={<RequireAuth><PlansPage /></RequireAuth>} />
        <Route path="/performance" element={<RequireAuth><PerformancePage /></RequireAuth>} />
        <Route path="/account" element={<RequireAuth><AccountPage /></RequireAuth>} />
        <Route path="/admin" element={<RequireAuth><AdminPage /></RequireAuth>} />
        <Route
          path="*"
          element={<NotFound />}
        />
      </Route>
    </Routes>
  );
}
